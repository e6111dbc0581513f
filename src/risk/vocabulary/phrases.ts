// Patterns in parameter names and descriptions that make a reading certain (irreversible, read-only, code to run,
// secrets returned), and the small word sets the rules consult beside the vocabulary tables.
import type { Operation } from './verbs.js';

export const DESTINATION_PARAMETERS =
  /^(key|destination|dest|target_?path|remote_?path|upload_?path|object_?key)$/i;
/** Where a download, a save or a dump writes on the local disk: an existing file there is replaced (rule 3). */
export const LOCAL_DESTINATION =
  /^(local_?path|save_?path|output_?path|output_?file|out_?file|dest_?path|destination_?path|target_?path|download_?path)$/i;
/** A file of SQL statements a tool loads into a database (a dump, a backup, an `.sql` file). */
export const SQL_DUMP =
  /\b(sql (file|dump|script|backup)s?|(database|db|mysql|postgres(ql)?) (dump|backup)s?|dump files?)\b|\.sql\b/i;
/** Words after a noun that make the thing named its settings (`transfer-config-create`: no transfer is made). */
export const SETTINGS_OF = new Set([
  'config',
  'configs',
  'configuration',
  'configurations',
  'settings',
  'options',
  'preferences',
]);
/** Booleans that make a read show what a secret store keeps hidden. */
export const REVEAL_FLAGS = /^(reveal|show_?secrets?|include_?secrets?|decrypt|with_?decryption|unmask)$/i;

export const HTTP_METHODS: Record<string, Operation> = {
  get: 'read',
  head: 'read',
  options: 'read',
  post: 'write',
  put: 'write',
  patch: 'write',
  delete: 'delete',
};

/** Verbs weak enough to also be nouns in a name (`get_workflow_run`, `list_logs`): only the first verb counts. */
export const STRONG_SECONDARY = new Set([
  'delete',
  'remove',
  'destroy',
  'drop',
  'purge',
  'erase',
  'wipe',
  'truncate',
]);

/** Reads that write what they read to a local file. */
export const LOCAL_WRITING_READS = new Set(['download', 'dump', 'export', 'save']);
/** Reads that compute an answer without reading stored records (a price preview, an estimate). */
export const COMPUTING_VERBS = new Set(['preview', 'calculate', 'estimate']);
export const LOG_VERBS = new Set(['log', 'logs', 'tail']);
export const METADATA_WORDS = new Set(['count', 'counts', 'size', 'stats', 'statistics', 'types']);
export const ONE_PERSON = new Set(['employee', 'customer', 'user', 'member', 'person', 'contact']);
/** Changes to a money object that move no money: pausing or archiving a subscription. */
/** A run that sends to people: notifications, messages or e-mails to subscribers, users or recipients. */
export const SENDS_NOTIFICATIONS =
  /\b(send|sends|sending|deliver|delivers|broadcast|broadcasts)\b[^.]{0,30}\b(notifications?|messages?|e-?mails?|sms|announcements?)\b/i;
/** Money objects that charge nothing yet when made (rule 9: a draft invoice, a quote, a payment link, a price). */
export const DRAFTS = new Set([
  'invoice',
  'invoices',
  'quote',
  'quotes',
  'link',
  'links',
  'price',
  'prices',
  // a payroll is prepared unprocessed and pays when submitted
  'payroll',
  'payrolls',
]);
export const NON_MONEY_VERBS = new Set([
  'pause',
  'archive',
  'unarchive',
  'rename',
  'tag',
  'label',
  'pin',
  'unpin',
  // a file attached to a payment moves none
  'attach',
]);
/** Verbs that apply a migration to a database rather than write its file. */
export const APPLYING_VERBS = new Set(['apply', 'complete', 'run', 'commit', 'execute', 'perform', 'finish']);
/** The agent's own transient things: stopping or closing them is a trivial change (rule 5). */
export const TRANSIENT_ITEMS = new Set([
  'search',
  'searches',
  'tunnel',
  'tunnels',
  'forward',
  'connection',
  'connections',
]);

/** Description phrases that make the reading certain whatever the name says. */
export const IRREVERSIBLE =
  /\b(permanent(ly)?|irreversibl[ey]|cannot be (undone|recovered|reversed)|can ?not be undone)\b/i;
export const READ_ONLY_QUERY =
  /\b(read-?only|select (statements?|queries) only|only (select|read)|no (writes|modifications)|does not (modify|write))\b/i;
export const QUERY_LANGUAGE =
  /\b(sql|select\b|cypher|sparql|graphql|es\|ql|esql|promql|logql|kql|mql|query dsl|aggregat(e|ion)|jql|cql|soql|hogql|query language)\b/i;
export const CODE_WORDS =
  /\b(javascript|js code|python|shell|bash|terminal|command(s)?|script|code|sql|expression|function body)\b/i;
/**
 * What makes a `code`/`command` parameter code to run when the name has no execute verb: a language, or the words
 * "to run". A bare "code" is a discount code and a bare "command" may be stored as an alias.
 */
export const CODE_TEXT =
  /\b(javascript|js code|python|shell|bash|terminal|script|sql|expression|function body|(code|commands?) to (run|execute|evaluate)|(run|runs|execute|executes|evaluate|evaluates) (a |the |any |arbitrary )?(code|commands?))\b/i;
/** The description says the tool destroys what is there (`is destructive and overwrites the target`). */
export const DESTRUCTIVE_CLAIM =
  /\b((is|are) destructive|destructive (to|and) (existing|the)|overwrit(es|ing) (any |the )?(existing|target)|permanently (close|closes|terminate|terminates) (an?|the|this) \w+)\b/i;
export const DROPS = /(\bdrops?\b|--drop\b|--clean\b|\btruncat|\bwipes?\b|\berases?\b)/i;
/**
 * A sentence that says the tool hands back a secret: it returns, includes or gets one (`Returns access_token and
 * refresh_token`, `including its signing secret`, `Each application has its own client_id and api_key`).
 */
export const RETURNS_SECRET =
  /(\b(returns?|returned|reveals?|exposes?|includ(es|ing)|contains?|has its own|get)\b[^.]{0,60}(secret|password|api[ _]?key|private[ _]?key|connection string|(access|refresh|bearer|auth)[ _]?tokens?|key value|cvv|cvc|\bpan\b|full card number))|((secret ?key|secret|password|api ?key|private ?key)s?\b[^.]{0,20}\b(is|are) (returned|included|shown))/i;
export const NEGATION =
  /\b(never|not|no|without|hidden|redact(ed|s)?|mask(ed|s)?|conceal(ed|s)?|non)\b|n't\b/i;
/** A configuration that holds the tool's own access rules (allowed directories, blocked commands). */
export const ACCESS_SETTINGS =
  /\b(allowed ?director(y|ies)|blocked ?commands?|allow ?list|deny ?list|block ?list|allowlist|denylist|blocklist|access control)\b/i;
export const OPEN_WORLD_WORDS =
  /\b(web|internet|website|url|http|online|api|saas|cloud|github|gitlab|slack|stripe|notion|google|microsoft|azure|aws|jira|linear|hubspot|sentry|twilio|gmail|discord|twitter|x\.com|search engine)\b/i;
export const BULK_WORDS = /\b(bulk|batch|mass|all recipients|every (user|member|subscriber))\b/i;

/** A description that says the tool itself pays or charges (an automatic payment, a charge to a wallet or card). */
export const PAYS_CLAIM =
  /\b(?:(?:will\s+be|is|are|gets?)\s+paid\s+automatically|paid\s+automatically\s+from|pays?\s+automatically|automatic(?:ally)?\s+(?:x402\s+)?payments?|charges?\s+(?:your|the)\s+(?:wallet|card|account|balance)|releases?\s+(?:their|the|its|your)\s+payments?)\b/i;

/** A parameter that commits money to pay people: a budget, a prize, a reward, pay in a currency (`budget_usd`). */
export const MONEY_COMMITTED = /^(budget|prize|reward|bounty|base_?pay|bonus)(_?\w*)?$|_(usd|eur|gbp)$/i;
/** A description that says the tool starts something in a tmux pane or a pseudo-terminal: what runs there runs commands. */
export const TERMINAL_CLAIM = /\b(tmux|pty|terminal pane)\b/i;
/** A parameter that takes a card or another instrument money is taken from (`CardCryptogramPacket`, `payment_method`). */
export const CARD_PARAMETER = /^(card|cryptogram|payment_?method|payment_?source)(_?[a-z]*)$/i;
/** A parameter that takes an amount of money. */
export const AMOUNT_PARAMETER = /^(amount|total)(_?[a-z]*)$/i;
/** A parameter that takes the proof of a payment (a transaction hash): the call redeems money paid (rule 9). */
export const PAYMENT_PROOF = /^(payment|deposit|fee)_?tx(_?hash|_?id)?$|^tx_?hash$/i;
/** Parameters of a generic API tool: a service, an operation on it and the request to send. */
export const API_SERVICE = /^(service|api|product)$/i;
export const API_OPERATION = /^(method|action|operation|endpoint|path|api_?path)$/i;
export const API_REQUEST = /^(request|params|parameters|body|payload|data|args|arguments)$/i;
/** Services of a generic API that move money, or that hold identities and keys. */
export const MONEY_SERVICES =
  /\b(payments?|payouts?|refunds?|billing|charges?|transfers?|accounting|invoic(e|es|ing))\b/i;
export const IDENTITY_SERVICES =
  /\b(oauth|iam|cam|kms|ssm|sts|secrets? ?manager|key ?vault|rbac|role-based access)\b/i;
/** Stores whose queries a router runs for the agent (logs, documents, tables). */
export const DATA_STORE = /\b(databases?|db|documents?|logs?|metrics|tables?|data explorer)\b/i;
/** Words that say a `command` is a line for a shell or a process, not the name of one of the tool's own sub-commands. */
export const SHELL_TEXT =
  /\b(shell|bash|zsh|terminal|powershell|cmd\.exe|command[- ]line|scripts?|executable|binary)\b|\b(spawn|start|run)s? (a |new |the )?process/i;

/** A first sentence that says the tool creates, stores or removes credentials (a registry's login, a data source's). */
export const CREDENTIAL_CHANGE =
  /\b(?:creates?|stores?|saves?|adds?|registers?|updates?|rotates?|deletes?|removes?)\s+(?:(?:a|an|the|new|existing|[\w-]+)\s+){0,4}?credentials?\b/i;

/**
 * Transactions kept as records of a budget or a tracker (a payee, a category, a manual account's balance to update):
 * writing them moves no money. Read over the description and the parameter names.
 */
export const BOOKKEEPING =
  /\b(?:budgets?|payees?|manual(?:ly)?[- _]managed|manual[ _]accounts?|(?:skip_)?balance_update|update_balance|categori[sz]e[sd]?)\b/i;

/** A description that says creating the thing is billed (paid provisioning, rule 9). */
export const PAID_CLAIM =
  /\b(?:billable|billed\s+(?:hourly|per|by)|incurs?\s+(?:charges|costs)|costs?\s+money|hourly\s+(?:price|rate|cost))\b/i;

/** A list of modes written in the description rather than an enum ("Valid actions: `start` ... `terminate`"). */
export const DESCRIBED_MODES =
  /\b(?:valid|supported|available|allowed|possible)\s+(?:actions|operations|modes)\b/i;

/** A call that rings a telephone (an outbound or voice call), not a function or API call. */
export const PHONE_CALL = /\b(?:phone|outbound|inbound|voice|dial(?:s|ing)?|callee)\b/i;

/** The HTTP method, not a post to people: `Perform an HTTP POST request`, `freee API POST`. */
export const HTTP_POST = /\b(?:[Hh][Tt][Tt][Pp]|POST)\b/;
