// `warden scan --config <file>`: starts (or connects to) every configured server, lists its tools and classifies them,
// marking tools whose definition differs from the pin warden keeps (when the config's storage has pins).
import { dirname } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { GatewayConfig, UpstreamSpec } from '../config/resolve.js';
import { definitionHash } from '../risk/catalog.js';
import { classify } from '../risk/classify.js';
import { findShadowing, type ServerTools } from '../risk/poisoning.js';
import type { Classification, ToolDefinition } from '../risk/types.js';
import { openPinStore, storageExists } from '../store/open.js';
import type { PinStore } from '../store/pins.js';
import { VERSION } from '../version.js';

export interface ServerScanEntry extends Classification {
  server: string;
  name: string;
  /** true: matches its pin; false: differs from it (definition_changed); null: never seen by warden. */
  pinned: boolean | null;
}

export interface ServerScan {
  entries: ServerScanEntry[];
  /** Servers that could not be listed, with why. */
  failures: Array<{ server: string; error: string }>;
}

function transportOf(spec: UpstreamSpec): Transport {
  if (spec.kind === 'stdio') {
    return new StdioClientTransport({
      command: spec.command!,
      args: spec.args,
      env: { ...getDefaultEnvironment(), ...spec.env },
      cwd: spec.cwd,
      stderr: 'ignore',
    });
  }
  const url = new URL(spec.url!);
  const requestInit = { headers: spec.headers };
  return spec.kind === 'sse'
    ? new SSEClientTransport(url, { requestInit })
    : new StreamableHTTPClientTransport(url, { requestInit });
}

async function listTools(spec: UpstreamSpec): Promise<Array<Record<string, unknown>>> {
  const client = new Client({ name: 'mcp-warden-scan', version: VERSION });
  const timeout = spec.startTimeoutMs;
  await client.connect(transportOf(spec), { timeout });
  try {
    const tools: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const r = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout });
      tools.push(...(r.tools as Array<Record<string, unknown>>));
      cursor = r.nextCursor;
      if (cursor === undefined) break;
    }
    return tools;
  } finally {
    await client.close().catch(() => {});
  }
}

/** Pins are read only when the storage already exists: a scan never creates a database. */
async function pinsOf(config: GatewayConfig): Promise<PinStore | undefined> {
  const baseDir = dirname(config.file);
  return storageExists(config.storage, baseDir) ? openPinStore(config.storage, { baseDir }) : undefined;
}

/** How many servers are started at once: enough to hide start-up time, few enough not to swamp a laptop. */
const PARALLEL = 4;

/** Lists and classifies one server's tools, with each tool's pin state. */
async function scanServer(
  spec: UpstreamSpec,
  pins: PinStore | undefined,
): Promise<{ tools: ToolDefinition[]; entries: ServerScanEntry[] }> {
  const tools = await listTools(spec);
  const entries: ServerScanEntry[] = [];
  for (const t of tools) {
    const c = classify(t as unknown as ToolDefinition);
    const name = String(t.name);
    const pin = await pins?.get(spec.id, name);
    const hash = definitionHash(t);
    const pinned = pin === undefined ? null : pin.hash === hash;
    if (pinned === false) {
      c.signals.push({
        kind: 'definition_changed',
        evidence: `pinned ${pin!.hash.slice(0, 12)} on ${pin!.acceptedAt}, now ${hash.slice(0, 12)}`,
      });
    }
    entries.push({
      server: spec.id,
      name,
      category: c.category,
      risk: c.risk,
      signals: c.signals.map((s) => ({ kind: s.kind, evidence: s.evidence })),
      confidence: c.confidence,
      rationale: c.rationale,
      pinned,
    });
  }
  return { tools: tools as unknown as ToolDefinition[], entries };
}

/**
 * Scans every configured server, several at a time; entries come out in config order whatever finishes first.
 * `progress` hears how many servers are done and which are still starting.
 */
export async function scanServers(
  config: GatewayConfig,
  progress: (done: number, label: string) => void = () => {},
): Promise<ServerScan> {
  const pins = await pinsOf(config);
  const results: Array<{ tools: ToolDefinition[]; entries: ServerScanEntry[] } | { error: string }> = [];
  const starting = new Set<string>();
  let done = 0;
  let next = 0;
  const report = () => progress(done, starting.size === 0 ? '' : `starting ${[...starting].join(', ')}`);
  const worker = async (): Promise<void> => {
    while (next < config.upstreams.length) {
      const i = next++;
      const spec = config.upstreams[i]!;
      starting.add(spec.id);
      report();
      try {
        results[i] = await scanServer(spec, pins);
      } catch (err) {
        results[i] = { error: (err as Error)?.message ?? String(err) };
      }
      starting.delete(spec.id);
      done++;
      report();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, config.upstreams.length) }, worker));
  } finally {
    await pins?.close();
  }
  const entries: ServerScanEntry[] = [];
  const failures: ServerScan['failures'] = [];
  const listed: ServerTools[] = [];
  config.upstreams.forEach((spec, i) => {
    const r = results[i]!;
    if ('error' in r) failures.push({ server: spec.id, error: r.error });
    else {
      entries.push(...r.entries);
      listed.push({ server: spec.id, tools: r.tools });
    }
  });
  // Shadowing needs every server's tools at once: a name two servers share, a description naming another's tool.
  for (const f of findShadowing(listed)) {
    entries.find((e) => e.server === f.server && e.name === f.tool)?.signals.push(f.signal);
  }
  return { entries, failures };
}
