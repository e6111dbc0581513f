#!/usr/bin/env node
// The `warden` command: parses arguments and dispatches to one file per command.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerApprovalCommands } from './approvals.js';
import { exportCommand, query, tail, verify } from './audit.js';
import { EXIT_USAGE } from './common.js';
import { createGrant, listGrants, revokeGrant, rotateGrant } from './grants.js';
import { registerInitCommand } from './init.js';
import { registerPinCommands } from './pins.js';
import { explainCommand, testCommand, validate, validateConfig } from './policy.js';
import { registerScanCommands } from './scan.js';
import { serve } from './serve.js';
import { stdio } from './stdio.js';
import { registerUpstreamTokenCommands } from './upstream-tokens.js';

const program = new Command('warden')
  .description('mcp-warden: a policy gateway for the Model Context Protocol')
  .version(VERSION, '-V, --version')
  .exitOverride()
  .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

const LOG_LEVEL = '--log-level <level>';

program
  .command('serve')
  .description('run the gateway over HTTP (Streamable HTTP at /mcp and /mcp/<server>, legacy SSE at /sse)')
  .option('-c, --config <file>', 'config file (YAML or JSON, or a client mcp.json)', 'warden.yaml')
  .option('--listen <host:port>', 'agent-facing address (overrides the config)')
  .option('--admin <host:port>', 'admin address (overrides the config)')
  .option(LOG_LEVEL, 'trace | debug | info | warn | error | silent')
  .action((opts) => serve(opts));

program
  .command('stdio')
  .description('serve one agent over stdin/stdout (for clients that spawn a command)')
  .option('-c, --config <file>', 'config file (YAML or JSON, or a client mcp.json)', 'warden.yaml')
  .option('-s, --server <id>', 'expose one server with its tool names unchanged (default: all, prefixed)')
  .option('-g, --grant <label>', 'act as this grant (default: the token in WARDEN_TOKEN)')
  .option(LOG_LEVEL, 'trace | debug | info | warn | error | silent')
  .action((opts) => stdio(opts));

const policy = program.command('policy').description('check, explain and test policies');
policy
  .command('validate [file]')
  .description(
    'check a policy file (PolicyLayer JSON or Intercept YAML), or with --config every policy of a config and the tool names they name; exit 2 listing every problem',
  )
  .option(
    '-c, --config <file>',
    "check the config's policies, and warn about tool names no upstream lists (starts each upstream once)",
  )
  .option('--json', 'machine output')
  .action((file: string | undefined, opts: { config?: string; json?: boolean }) => {
    if ((file === undefined) === (opts.config === undefined)) {
      process.stderr.write('warden: policy validate takes a policy file or --config <file>\n');
      process.exit(EXIT_USAGE);
    }
    return opts.config !== undefined ? validateConfig(opts.config, opts) : validate(file!, opts);
  });
policy
  .command('explain')
  .description('show how a call would be decided, rule by rule')
  .option('-c, --config <file>', 'config file', 'warden.yaml')
  .requiredOption('--server <id>', 'server id')
  .requiredOption('--tool <name>', 'tool name (as the server calls it)')
  .option('--args <json>', 'arguments, a JSON object')
  .option('--category <category>', 'risk category of the tool')
  .option(
    '--earlier <calls>',
    'earlier calls of the conversation, server/tool separated by commas (flow rules)',
  )
  .option('--grant <label>', 'grant making the call')
  .option('--json', 'machine output')
  .action((opts) => explainCommand(opts));
policy
  .command('test <cases>')
  .description(
    'run policy test cases (a YAML/JSON file: policy, cases[{name, tool, args, expect, rule?, reason?}])',
  )
  .option('--json', 'machine output')
  .action((file, opts) => testCommand(file, opts));

const grants = program.command('grants').description('agent identities (bearer tokens) and admin tokens');
grants
  .command('create <label>')
  .description('create a grant and print its token (shown once)')
  .option('-c, --config <file>', 'config file', 'warden.yaml')
  .option('--servers <ids>', 'only these servers, comma-separated (default: all)')
  .option('--groups <names>', 'groups, comma-separated (policies can match grant.groups)')
  .option('--policy <file>', "a policy of the grant's own, applied after the global and server policies")
  .option('--role <role>', 'make an admin token instead: admin | approver | viewer')
  .option('--json', 'print {"id","label","token"}')
  .action((label, opts) => createGrant(label, opts));
grants
  .command('list')
  .description('every grant, live and revoked (never the tokens)')
  .option('-c, --config <file>', 'config file', 'warden.yaml')
  .option('--json', 'machine output')
  .action((opts) => listGrants(opts));
grants
  .command('revoke <label-or-id>')
  .description('revoke a grant: its token stops working on the next request, open sessions included')
  .option('-c, --config <file>', 'config file', 'warden.yaml')
  .option('--json', 'machine output')
  .action((labelOrId, opts) => revokeGrant(labelOrId, opts));
grants
  .command('rotate <label-or-id>')
  .description('give a grant a new token; the old one stops working at once')
  .option('-c, --config <file>', 'config file', 'warden.yaml')
  .option('--json', 'print {"id","label","token"}')
  .action((labelOrId, opts) => rotateGrant(labelOrId, opts));

const audit = program.command('audit').description('read and verify the audit log');
const auditFilters = (c: Command) =>
  c
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--since <time>', 'from this time (ISO 8601)')
    .option('--until <time>', 'before this time (ISO 8601)')
    .option('--grant <label>', 'only this grant')
    .option('--server <id>', 'only this server')
    .option('--tool <name>', 'only this tool')
    .option('--decision <decision>', 'only this decision (allowed, denied, hidden, ...)');
auditFilters(audit.command('query').description('records, oldest first'))
  .option('--limit <n>', 'the newest n records', '100')
  .option('--json', 'one JSON record per line')
  .action((opts) => query(opts));
auditFilters(
  audit.command('tail').description('the newest records, then new ones as they come with --follow'),
)
  .option('--limit <n>', 'how many to show first', '20')
  .option('-f, --follow', 'keep printing new records')
  .option('--json', 'one JSON record per line')
  .action((opts) => tail(opts));
auditFilters(audit.command('export').description('every record, as JSON Lines or CSV'))
  .option('--format <format>', 'jsonl or csv', 'jsonl')
  .option('-o, --output <file>', 'write to a file instead of stdout')
  .action((opts) => exportCommand(opts));
audit
  .command('verify')
  .description('prove the hash chain intact: exit 0 and "ok N records", or 1 naming the first bad record')
  .option('-c, --config <file>', 'config file', 'warden.yaml')
  .option('--json', 'machine output')
  .option(
    '--heads <file...>',
    'also hold the log against the heads in these files (a heads file, or the gateway log with auditHead lines)',
  )
  .action((opts) => verify(opts));

registerScanCommands(program);
registerApprovalCommands(program);
registerPinCommands(program);
registerUpstreamTokenCommands(program);
registerInitCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; everything else commander rejects is a usage error.
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  throw err;
}
