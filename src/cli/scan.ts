// `warden scan --from-file <tools.json>`: classifies the tools of a tools/list result, as a table or JSON (SPEC §11).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parsePolicyText } from '../config/policy-file.js';
import type { UpstreamSpec } from '../config/resolve.js';
import { ConfigError, type Problem } from '../errors.js';
import { classify } from '../risk/classify.js';
import { starterPolicy } from '../risk/starter-policy.js';
import type { Classification, ToolDefinition } from '../risk/types.js';
import { EXIT_FAILURE, EXIT_OK, fail, loadGatewayConfig } from './common.js';
import { progressBar } from './progress.js';
import { type ServerScanEntry, scanServers } from './scan-servers.js';

export interface ScanEntry extends Classification {
  name: string;
}

export function registerScanCommands(program: Command): void {
  program
    .command('scan')
    .description('classify the risk of tools (category, risk, signals with evidence)')
    .argument('[command...]', 'a server to start over stdio and scan: warden scan -- <command> [args...]')
    .option(
      '--from-file <file>',
      'a JSON file: an array of MCP Tool objects, or a tools/list result {"tools": [...]}',
    )
    .option('-c, --config <file>', 'scan every server of this warden config (started or connected to now)')
    .option('--url <url>', 'scan the server at this URL (Streamable HTTP; --transport sse for legacy SSE)')
    .option('--transport <kind>', 'with --url: http (default) or sse')
    .option(
      '--header <name:value>',
      'with --url: a header to send (repeatable), e.g. "Authorization: Bearer ..."',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option(
      '--write-policy [dir]',
      "with --config: write each server's starter policy to <dir>/<server>.json (default ./policies)",
    )
    .option('--force', 'with --write-policy: replace policy files that exist')
    .option('--json', 'machine output: a JSON array, one entry per tool, in input order')
    .action(
      (
        command: string[],
        opts: {
          fromFile?: string;
          config?: string;
          url?: string;
          transport?: string;
          header?: string[];
          json?: boolean;
          writePolicy?: string | boolean;
          force?: boolean;
        },
      ) => {
        const sources = [opts.fromFile, opts.config, opts.url, command.length > 0 ? 'command' : undefined];
        if (sources.filter((x) => x !== undefined).length > 1) {
          fail(
            new ConfigError([
              {
                file: '(command line)',
                path: 'scan',
                message: 'give one thing to scan: --from-file, --config, --url, or -- <command>',
              },
            ]),
          );
        }
        if (opts.config !== undefined)
          return scanConfigCommand({
            config: opts.config,
            json: opts.json,
            writePolicy: opts.writePolicy === true ? 'policies' : opts.writePolicy || undefined,
            force: opts.force,
          });
        if (opts.url !== undefined || command.length > 0) return scanLiveCommand({ ...opts, command });
        return scanCommand(opts);
      },
    );
}

/** The upstream a `--url` or `-- <command>` names, as the gateway would run it (no config file). */
function liveSpec(opts: {
  url?: string | undefined;
  transport?: string | undefined;
  header?: string[] | undefined;
  command: string[];
}): UpstreamSpec {
  const problems: Problem[] = [];
  const headers: Record<string, string> = {};
  for (const h of opts.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0)
      problems.push({ file: '(command line)', path: '--header', message: `"${h}" is not name:value` });
    else headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (opts.transport !== undefined && opts.transport !== 'http' && opts.transport !== 'sse')
    problems.push({ file: '(command line)', path: '--transport', message: 'http or sse' });
  if (opts.url !== undefined && !URL.canParse(opts.url))
    problems.push({ file: '(command line)', path: '--url', message: `"${opts.url}" is not a URL` });
  if (problems.length > 0) throw new ConfigError(problems);
  const base = {
    id: 'scan',
    prefix: 'scan',
    env: {},
    cwd: process.cwd(),
    timeoutMs: 60_000,
    startTimeoutMs: 120_000,
  };
  if (opts.url !== undefined)
    return { ...base, kind: opts.transport === 'sse' ? 'sse' : 'http', url: opts.url, args: [], headers };
  return { ...base, kind: 'stdio', command: opts.command[0]!, args: opts.command.slice(1), headers: {} };
}

/** `warden scan --url <url>` or `warden scan -- <command>`: one live server's tools, as --from-file prints them. */
export async function scanLiveCommand(opts: {
  url?: string | undefined;
  transport?: string | undefined;
  header?: string[] | undefined;
  command: string[];
  json?: boolean | undefined;
}): Promise<void> {
  try {
    const spec = liveSpec(opts);
    const bar = opts.json ? undefined : progressBar(1);
    bar?.update(0, `starting ${spec.kind === 'stdio' ? spec.command : spec.url}`);
    let tools: ToolDefinition[];
    try {
      // The SDK client is loaded by the commands that scan, not by every command (`serve` among them).
      const { listUpstreamTools } = await import('../proxy/list-tools.js');
      tools = (await listUpstreamTools(spec)) as unknown as ToolDefinition[];
    } finally {
      bar?.end();
    }
    const entries = tools.map(entryOf);
    if (opts.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    else process.stdout.write(table(entries));
    process.exit(EXIT_OK);
  } catch (err) {
    if (err instanceof ConfigError) fail(err);
    process.stderr.write(`warden scan: the server could not be listed: ${(err as Error)?.message ?? err}\n`);
    process.exit(EXIT_FAILURE);
  }
}

/** `warden scan --config`: the configured servers' tools, each with its server and pin state. */
export async function scanConfigCommand(opts: {
  config: string;
  json?: boolean | undefined;
  writePolicy?: string | undefined;
  force?: boolean | undefined;
}): Promise<void> {
  try {
    const config = loadGatewayConfig({ config: opts.config });
    const bar = opts.json ? undefined : progressBar(config.upstreams.length);
    const { entries, failures } = await scanServers(config, (done, label) =>
      bar?.update(done, `server${config.upstreams.length === 1 ? '' : 's'} ${label}`),
    );
    bar?.end();
    for (const f of failures)
      process.stderr.write(
        `warden scan: ${f.server}: ${f.error}${f.stderr === undefined ? '' : `\n  its stderr: ${f.stderr}`}\n`,
      );
    if (opts.writePolicy !== undefined) writeStarterPolicies(entries, opts.writePolicy, opts.force === true);
    if (opts.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    else {
      const servers = [...new Set(entries.map((e) => e.server))];
      for (const server of servers) {
        const own = entries.filter((e) => e.server === server);
        process.stdout.write(
          `${bold(server)}\n${table(own.map((e) => ({ ...e, name: e.pinned === false ? `${e.name} (CHANGED)` : e.name })))}\n`,
        );
        const labelled = own.filter((e) => e.labels.length > 0);
        if (labelled.length > 0)
          process.stdout.write(
            `${labelled.map((e) => `  ${e.name}: ${e.labels.map((l) => `${l.label} (${l.source}: ${l.why})`).join(', ')}`).join('\n')}\n\n`,
          );
      }
    }
    process.exit(failures.length > 0 ? EXIT_FAILURE : EXIT_OK);
  } catch (err) {
    fail(err);
  }
}

/** A tool's classification in the exact shape and key order of SPEC §11. */
function entryOf(tool: ToolDefinition): ScanEntry {
  const c = classify(tool);
  return {
    name: tool.name,
    category: c.category,
    risk: c.risk,
    signals: c.signals.map((s) => ({ kind: s.kind, evidence: s.evidence })),
    confidence: c.confidence,
    rationale: c.rationale,
  };
}

export function scanCommand(opts: { fromFile?: string; json?: boolean }): void {
  try {
    if (opts.fromFile === undefined) {
      throw new ConfigError([
        {
          file: '(command line)',
          path: '--from-file',
          message:
            'give the tools to scan: --from-file <tools.json>, --config <warden.yaml>, --url <url>, or -- <command>',
        },
      ]);
    }
    const tools = readTools(opts.fromFile);
    const entries = tools.map(entryOf);
    if (opts.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    else process.stdout.write(table(entries));
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}

/**
 * Writes `<dir>/<server>.json` for each scanned server (SPEC §7 starter policy), refusing to replace a file unless
 * `force`; each file is compiled before it is written, so what lands on disk is a valid policy.
 */
export function writeStarterPolicies(entries: readonly ServerScanEntry[], dir: string, force: boolean): void {
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  for (const server of [...new Set(entries.map((e) => e.server))]) {
    const file = join(dir, `${server}.json`);
    if (existsSync(file) && !force) {
      throw new ConfigError([
        {
          file,
          path: '',
          message: 'exists; not replaced (use --force to replace it, or another --write-policy dir)',
        },
      ]);
    }
    const tools = entries
      .filter((e) => e.server === server)
      .map((e) => ({ name: e.name, classification: e as Classification }));
    const text = `${JSON.stringify(starterPolicy(server, tools, at), null, 2)}\n`;
    const { problems } = parsePolicyText(text, file);
    if (problems.length > 0) throw new ConfigError(problems);
    writeFileSync(file, text);
    process.stderr.write(`wrote ${file} (${tools.length} tools)\n`);
  }
}

/** Reads an array of Tool objects or a `{"tools": [...]}` result; every problem is listed with its path. */
export function readTools(file: string): ToolDefinition[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { file, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ file, path: '', message: `not JSON: ${(err as Error).message}` }]);
  }
  let list: unknown = value;
  let base = '';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    list = (value as { tools?: unknown }).tools;
    base = 'tools';
  }
  if (!Array.isArray(list)) {
    throw new ConfigError([
      {
        file,
        path: base,
        message: 'expected an array of MCP Tool objects or a tools/list result {"tools": [...]}',
      },
    ]);
  }
  const problems: Problem[] = [];
  list.forEach((t, i) => {
    const path = `${base}[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      problems.push({ file, path, message: 'expected a Tool object' });
      return;
    }
    const tool = t as Record<string, unknown>;
    if (typeof tool.name !== 'string' || tool.name === '') {
      problems.push({ file, path: `${path}.name`, message: 'expected the tool name, a non-empty string' });
    }
    if (tool.description !== undefined && typeof tool.description !== 'string') {
      problems.push({ file, path: `${path}.description`, message: 'expected a string' });
    }
    for (const key of ['inputSchema', 'annotations'] as const) {
      const v = tool[key];
      if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
        problems.push({ file, path: `${path}.${key}`, message: 'expected an object' });
      }
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return list as ToolDefinition[];
}

const useColour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: string) => (s: string) => (useColour ? `\u001b[${code}m${s}\u001b[0m` : s);
const RISK_PAINT: Record<string, (s: string) => string> = {
  low: paint('32'),
  medium: paint('33'),
  high: paint('31'),
  critical: paint('1;37;41'),
};
const dim = paint('2');
const bold = paint('1');

function table(entries: ScanEntry[]): string {
  const nameWidth = Math.min(40, Math.max(4, ...entries.map((e) => e.name.length)));
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  const lines = [`${pad('TOOL', nameWidth)}  ${pad('CATEGORY', 13)}  ${pad('RISK', 8)}  SIGNALS`];
  for (const e of entries) {
    const name = e.name.length > nameWidth ? `${e.name.slice(0, nameWidth - 1)}…` : e.name;
    const badge = (RISK_PAINT[e.risk] ?? ((s: string) => s))(pad(e.risk, 8));
    const signals = [...new Set(e.signals.map((s) => s.kind))].join(', ');
    lines.push(`${pad(name, nameWidth)}  ${pad(e.category, 13)}  ${badge}  ${signals}`);
    lines.push(dim(`${' '.repeat(nameWidth)}  ${e.rationale}`));
  }
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.risk, (counts.get(e.risk) ?? 0) + 1);
  const summary = ['critical', 'high', 'medium', 'low']
    .filter((r) => counts.has(r))
    .map((r) => `${counts.get(r)} ${r}`)
    .join(', ');
  lines.push('', `${entries.length} tool${entries.length === 1 ? '' : 's'}${summary ? `: ${summary}` : ''}`);
  return `${lines.join('\n')}\n`;
}
