// `warden init [--from <client mcp.json>]`: puts warden in front of the servers a desktop client already uses. Reads
// the client's config (Claude Desktop and Cursor `mcpServers`, VS Code `servers`), writes warden.yaml with a starter
// policy per server (scanned now), creates a local grant, and prints the client config that runs each server through
// `warden stdio` instead (or writes it over the original, keeping a backup, with --write-client).
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { normaliseClientConfig } from '../config/client-config.js';
import { parseConfigText, stripJsonComments } from '../config/parse.js';
import { ConfigError, formatProblems, type Problem } from '../errors.js';
import { VERSION } from '../version.js';
import { EXIT_OK, fail, loadGatewayConfig } from './common.js';
import { openGrantService } from './grants.js';
import { progressBar } from './progress.js';
import { writeStarterPolicies } from './scan.js';
import { scanServers } from './scan-servers.js';

interface InitFlags {
  from?: string;
  out: string;
  writeClient?: boolean;
  force?: boolean;
}

/** The grant local clients act as (`warden stdio --grant local`). */
const LOCAL_GRANT = 'local';

/**
 * The servers of a client config: `mcpServers` (Claude Desktop, Cursor, Windsurf) or `servers` (VS Code; comments
 * allowed), read as `warden serve` reads it (client-config.ts): each name with its id, each entry without the keys
 * warden leaves out. The references in entries (`${env:X}`, `${input:id}`) stay, to be read when warden starts.
 */
function clientServers(file: string): {
  key: 'mcpServers' | 'servers';
  servers: Record<string, Record<string, unknown>>;
  ids: Map<string, string>;
  doc: Record<string, unknown>;
  warnings: Problem[];
} {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { file, path: '', message: `cannot read a client config: ${(err as Error).message}` },
    ]);
  }
  const { value: doc, problems, lineOf } = parseConfigText(stripJsonComments(text, file), file, null);
  if (problems.length > 0) throw new ConfigError(problems);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError([{ file, path: '', message: 'expected a JSON object' }]);
  }
  const d = doc as Record<string, unknown>;
  const key = d.mcpServers !== undefined ? 'mcpServers' : d.servers !== undefined ? 'servers' : undefined;
  const servers = key === undefined ? undefined : d[key];
  if (key === undefined || typeof servers !== 'object' || servers === null || Array.isArray(servers)) {
    throw new ConfigError([
      {
        file,
        path: 'mcpServers',
        message: 'no servers found (expected "mcpServers" or VS Code\'s "servers")',
      },
    ]);
  }
  const client = normaliseClientConfig({ [key]: servers }, file, lineOf);
  if (client.problems.length > 0) throw new ConfigError(client.problems);
  const entries = (client.value as { mcpServers: Record<string, Record<string, unknown>> }).mcpServers;
  const vars = workspaceVariables(file);
  const ids = new Map<string, string>();
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(servers)) {
    const id = client.renamed.get(name) ?? name;
    ids.set(name, id);
    // What the client would fill in from where its file is: fixed now, since warden.yaml lives elsewhere.
    out[id] = fillVariables(entries[id] ?? {}, vars) as Record<string, unknown>;
  }
  // Top-level keys of the client (globalShortcut, inputs) stay in the client's file and are not warden's business.
  return { key, servers: out, ids, doc: d, warnings: client.warnings };
}

function workspaceVariables(file: string): Record<string, string> {
  const dir = dirname(file);
  const workspace = ['.vscode', '.cursor'].includes(basename(dir)) ? dirname(dir) : dir;
  return { workspaceFolder: workspace, workspaceFolderBasename: basename(workspace), userHome: homedir() };
}

function fillVariables(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string')
    return value.replace(
      /\$\{(workspaceFolder|workspaceFolderBasename|userHome)\}/g,
      (_m, n: string) => vars[n]!,
    );
  if (Array.isArray(value)) return value.map((v) => fillVariables(v, vars));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillVariables(v, vars)]));
  return value;
}

/**
 * The command a client starts to run warden. Started from npx's cache (`~/.npm/_npx/<hash>/...`), the path would
 * vanish when the cache is cleaned or the package updated: the client then starts `npx -y mcp-warden@<version>`
 * instead. An installed warden (global or in a project) is started by its absolute path with this Node.
 */
export function wardenCommand(
  script: string,
  execPath: string = process.execPath,
): { command: string; args: string[] } {
  const paths = [script];
  try {
    paths.push(realpathSync(script));
  } catch {
    // a path that cannot be resolved is judged as written
  }
  if (paths.some((p) => /[\\/]_npx[\\/]/.test(p))) {
    return { command: 'npx', args: ['-y', `mcp-warden@${VERSION}`] };
  }
  return { command: execPath, args: [resolve(script)] };
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      "put warden in front of a client's MCP servers: warden.yaml, starter policies, the client config",
    )
    .option(
      '--from <file>',
      "the client's config (claude_desktop_config.json, .cursor/mcp.json, .vscode/mcp.json)",
    )
    .option('-o, --out <dir>', 'where warden.yaml and policies/ go', '.')
    .option(
      '--write-client',
      'write the new client config over --from (the original is kept as <file>.bak-<time>)',
    )
    .option('--force', 'replace an existing warden.yaml and policies')
    .action((flags: InitFlags) => init(flags));
}

export async function init(flags: InitFlags): Promise<void> {
  try {
    const out = resolve(flags.out);
    const configFile = join(out, 'warden.yaml');
    if (existsSync(configFile) && !flags.force) {
      throw new ConfigError([{ file: configFile, path: '', message: 'exists; not replaced (use --force)' }]);
    }
    const source = flags.from === undefined ? undefined : clientServers(resolve(flags.from));
    const mcpServers: Record<string, Record<string, unknown>> = { ...source?.servers };
    const names = source?.ids ?? new Map<string, string>();
    for (const w of source?.warnings ?? []) {
      process.stderr.write(`warden init: warning: ${formatProblems([w])}\n`);
    }
    const policies = join(out, 'policies');
    mkdirSync(policies, { recursive: true });
    const config = {
      mcpServers,
      listen: '127.0.0.1:7420',
      admin: '127.0.0.1:7421',
      storage: 'sqlite:./warden.db',
      auth: { anonymous: false },
    };
    const writeConfig = () =>
      writeFileSync(
        configFile,
        `# Written by warden init${flags.from ? ` from ${resolve(flags.from)}` : ''}. Review policies/ before relying on it.\n${stringify(config)}`,
      );
    writeConfig();
    if (Object.keys(mcpServers).length > 0) {
      const loaded = loadGatewayConfig({ config: configFile });
      const bar = progressBar(loaded.upstreams.length);
      const { entries, failures } = await scanServers(loaded, (done, label) =>
        bar.update(done, `servers scanned ${label}`),
      );
      bar.end();
      for (const f of failures) {
        process.stderr.write(
          `warden init: ${f.server} could not be listed (${f.error}); its policy denies everything${f.stderr === undefined ? '' : `\n  its stderr: ${f.stderr}`}\n`,
        );
        writeFileSync(
          join(policies, `${f.server}.json`),
          `${JSON.stringify({ version: '1', description: `warden init could not list ${f.server}: ${f.error}`, default: 'deny' }, null, 2)}\n`,
        );
      }
      writeStarterPolicies(entries, policies, flags.force === true);
      for (const [id, spec] of Object.entries(mcpServers)) spec.policy = `./policies/${id}.json`;
      writeConfig();
    }
    process.stderr.write(`wrote ${configFile}\n`);
    await ensureLocalGrant(configFile);
    if (source === undefined) {
      process.exit(EXIT_OK);
    }
    // Each server now runs through warden: the client starts `warden stdio` for it.
    const warden = wardenCommand(process.argv[1]!);
    const servers: Record<string, Record<string, unknown>> = {};
    for (const [name, id] of names) {
      servers[name] = {
        // VS Code reads "type"; the others ignore it.
        ...(source.key === 'servers' ? { type: 'stdio' } : {}),
        command: warden.command,
        args: [...warden.args, 'stdio', '--config', configFile, '--server', id, '--grant', LOCAL_GRANT],
      };
    }
    const client = { ...source.doc, [source.key]: servers };
    const text = `${JSON.stringify(client, null, 2)}\n`;
    if (flags.writeClient) {
      const from = resolve(flags.from!);
      const backup = `${from}.bak-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      copyFileSync(from, backup);
      writeFileSync(from, text);
      process.stderr.write(`wrote ${from} (the original is ${backup}); restart the client\n`);
    } else {
      process.stdout.write(text);
      process.stderr.write(
        'the client config above runs every server through warden; --write-client writes it\n',
      );
    }
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}

/** The grant local clients act as; created once, never printed (stdio --grant needs no token). */
async function ensureLocalGrant(configFile: string): Promise<void> {
  const { service, close } = await openGrantService(configFile);
  try {
    if (!(await service.list()).some((g) => g.label === LOCAL_GRANT && g.revokedAt === null)) {
      await service.create({ label: LOCAL_GRANT }, '(init)');
    }
  } finally {
    await close();
  }
}
