// The objects of risk classification: words that say what a tool touches (secrets, money, messages, personal
// records, small or paid things), each deciding the category or risk an operation on it has (SPEC §7).
/** Words that, standing as the object of a tool, name a secret or an access right. */
export const SECRET_OBJECTS = new Set([
  'secret',
  'secrets',
  'token',
  'tokens',
  'password',
  'passwords',
  'credential',
  'credentials',
  'apikey',
  'apikeys',
  'passphrase',
  'certificate',
  'certificates',
  'keypair',
  // a data source name carries the key (Sentry) or the password (ODBC) of where data goes
  'dsn',
  'dsns',
  // Environment variables are where servers keep their API keys.
  'env',
  'environment',
]);
/** Words that make a `token` a crypto asset, not a secret (`erc20_token`, `nft`). */
export const CRYPTO_TOKEN_QUALIFIERS = /^(erc\d+|bep\d+|spl|nfts?|crypto|coins?|fungible)$/;
/** Words for variables, secrets when they are a service's environment (rules/context.ts `environmentVariables`). */
export const ENV_VARIABLE_WORDS = new Set(['variable', 'variables', 'var', 'vars']);
/** `key` is a secret only after one of these (`api key`, `ssh key`), not as a Redis or a map key. */
export const KEY_QUALIFIERS = new Set([
  'api',
  'access',
  'ssh',
  'deploy',
  'signing',
  'gpg',
  'secret',
  'private',
  // a license key unlocks what was paid for: whoever holds it is the customer
  'license',
  'licence',
]);
/**
 * Words that name a secret only after a qualifier: a connection string carries the database password, a portal or
 * login session or link signs someone in.
 */
export const QUALIFIED_SECRETS: Record<string, readonly string[]> = {
  string: ['connection'],
  strings: ['connection'],
  session: ['portal', 'login', 'auth', 'sso', 'terminal', 'shell'],
  info: ['connection'],
  details: ['connection'],
  link: ['login', 'magic', 'signin'],
};
/** Words that say an item lives in a secret store (a password manager's vault), with a secret word beside them. */
export const SECRET_STORES = new Set(['vault', 'vaults', 'keychain', 'keystore', 'keyring']);
/**
 * Objects that are configuration, not messages: a `notification setting` configures where notifications go, it
 * sends nothing to anyone.
 */
export const SETTINGS_OBJECTS = new Set([
  'setting',
  'settings',
  'preference',
  'preferences',
  'config',
  'configuration',
]);
/**
 * Nouns that, after a message word, make it a qualifier: `email accounts`, `message count`, `mailbox folders` name
 * the accounts or a number, not the mail itself.
 */
export const MESSAGE_QUALIFIED = new Set([
  'account',
  'accounts',
  'status',
  'folder',
  'folders',
  'template',
  'templates',
  'count',
  'counts',
  'setting',
  'settings',
  'provider',
  'providers',
  'server',
  'servers',
  'client',
  'config',
  'configuration',
  'signature',
  'signatures',
  'quota',
  'alias',
  'aliases',
  'domain',
  'domains',
  'stats',
  'statistics',
  'health',
]);
/** What a write deploys to running infrastructure (rule 7: deploying is write/high). */
export const DEPLOY_OBJECTS = new Set([
  'manifest',
  'manifests',
  'chart',
  'charts',
  'helm',
  'rollout',
  'rollouts',
]);
/** Objects whose application runs schema changes (DDL) against a database. */
export const MIGRATION_OBJECTS = new Set(['migration', 'migrations']);
export const PERMISSION_OBJECTS = new Set([
  'permission',
  // a firewall's rules say what may reach a machine: an access policy
  'firewall',
  'firewalls',
  // a moderator holds a community's powers: adding or removing one changes who may do what
  'moderator',
  'moderators',
  'permissions',
  'perms',
  'role',
  'roles',
  'iam',
  'acl',
  'acls',
  'collaborator',
  'collaborators',
  'access',
  'sharing',
  'privilege',
  'privileges',
  // setting up sign-in for an application
  'auth',
  'authentication',
  'oauth',
  'sso',
  // a delegation hands another account the right to act (a registry or a mailbox delegation)
  'delegation',
  'delegations',
]);

/** Accounts and their groupings: adding, changing or removing one changes who has access (identity admin). */
export const IDENTITY_OBJECTS = new Set([
  'user',
  'users',
  'member',
  'members',
  'delegate',
  'delegates',
  'admin',
  'admins',
  'administrator',
  'administrators',
  // a membership carries a role; an invitation grants one when accepted
  'membership',
  'memberships',
  'invitation',
  'invitations',
]);
/** Groupings that are access control only inside an organisation (`org_group`, not a discount group). */
export const ORG_SCOPED = new Set(['group', 'groups', 'policy', 'policies']);
export const ORG_WORDS = new Set(['org', 'organization', 'organisation', 'tenant', 'directory']);

/** Objects whose mutation moves money (SPEC §7 financial). */
export const MONEY_OBJECTS = new Set([
  'payment',
  'payments',
  // a sweep moves a wallet's balance to a bank account
  'sweep',
  'sweeps',
  // a payroll pays people; a garnishment or a deduction takes part of their pay; a wire moves money
  'payroll',
  'payrolls',
  'garnishment',
  'garnishments',
  'deduction',
  'deductions',
  'wire',
  'wires',
  'charge',
  'charges',
  'refund',
  'refunds',
  'payout',
  'payouts',
  'transfer',
  'transfers',
  'invoice',
  'invoices',
  'subscription',
  'subscriptions',
  'purchase',
  'purchases',
  'trade',
  'trades',
  'ledger',
  // manual journals are ledger entries; quotes are drafts (rule 9)
  'journal',
  'journals',
  'quote',
  'quotes',
  'checkout',
  'transaction',
  'transactions',
  'credit',
  'paymentintent',
  'intent',
  // accounting entries that record money paid or received
  'bill',
  'bills',
  'expense',
  'expenses',
  'deposit',
  'deposits',
  'receipt',
  'receipts',
  // a bounty is a reward paid to whoever does the task
  'bounty',
  'bounties',
]);

/** Objects that a `send`/`post`/`create` turns into communication with other people (rule 6). */
export const MESSAGE_OBJECTS = new Set([
  'message',
  'messages',
  'email',
  'emails',
  'mail',
  'sms',
  'dm',
  'chat',
  'reply',
  'tweet',
  'broadcast',
  'notification',
  'notifications',
  // forum posts are communication (rule 6); a `text` channel is not a message
  'forum',
]);

/** Deleting these destroys little or something recoverable: destructive/high (rule 2). */
export const SMALL_ITEMS = new Set([
  'comment',
  'comments',
  'label',
  'labels',
  'tag',
  'tags',
  'reaction',
  'reactions',
  'event',
  'events',
  'memory',
  'memories',
  'observation',
  'observations',
  'relation',
  'relations',
  'entity',
  'entities',
  'note',
  'notes',
  'bookmark',
  'bookmarks',
  'draft',
  'drafts',
  'reminder',
  'reminders',
  'alias',
  'aliases',
  // a page layout, a translation, a DNS record: rebuilt from what remains
  'layout',
  'layouts',
  'translation',
  'translations',
  'dns',
  // a recipient of a document still being prepared
  'recipient',
  'recipients',
  'attachment',
  'attachments',
  'webhook',
  'webhooks',
  'subscriber',
  'annotation',
  'annotations',
  'favorite',
  'favorites',
  'filter',
  'filters',
  'view',
  'views',
  'dashboard',
  'dashboards',
  'monitor',
  'monitors',
  'alert',
  'alerts',
  'link',
  'links',
]);
/** Changes to these only affect the agent's own client (rule 5): write/low. */
export const SELF_SCOPED = new Set([
  'tab',
  'tabs',
  // the cookies of the agent's own browser session
  'cookie',
  'cookies',
  'window',
  'viewport',
  'reaction',
  'reactions',
  'emoji',
  // a vote is the agent's own mark on a post
  'upvote',
  'downvote',
  'vote',
  'votes',
]);
/** What a `trigger` deploys rather than runs (rule 7). */
export const DEPLOYMENTS = new Set([
  'deploy',
  'deployment',
  'deployments',
  'redeploy',
  'release',
  'releases',
]);

/** Deleting these harms nothing: destructive/medium (rule 2). */
export const HARMLESS_ITEMS = new Set([
  'index',
  'indexes',
  'indices',
  'cache',
  'caches',
  'scheduled',
  'session',
  'sessions',
  'tab',
  'tabs',
  'page',
  'console',
  'browser',
  'dialog',
  'highlight',
  'highlights',
  'breakpoint',
  'breakpoints',
  'emulation',
  'trace',
  'recording',
]);

/** Things that cost money when created (paid provisioning: write/high, rule 9). */
export const PAID_RESOURCES = new Set([
  'cluster',
  'clusters',
  'droplet',
  'droplets',
  'instance',
  'instances',
  'vm',
  'vms',
  'server',
  'servers',
  'database',
  'databases',
  'dyno',
  'dynos',
  'addon',
  'addons',
  'volume',
  'volumes',
  'node',
  'nodes',
  'nodepool',
  'bucket',
  'buckets',
]);

/** What a `transfer` hands over when no money moves. */
export const HANDED_OVER = new Set([
  'call',
  'calls',
  'file',
  'files',
  'ownership',
  'issue',
  'issues',
  'repo',
  'repository',
]);
