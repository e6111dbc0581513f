// `warden scan --config <file>`: starts (or connects to) every configured server, lists its tools and classifies them,
// marking tools whose definition differs from the pin warden keeps (when the config's storage has pins).

import { dirname } from 'node:path';
import type { GatewayConfig } from '../config/resolve.js';
import { LabelResolver, type LabelSource } from '../flows/labels.js';
import { definitionHash } from '../risk/catalog.js';
import { classify } from '../risk/classify.js';
import { findShadowing, type ServerTools } from '../risk/poisoning.js';
import type { Classification, ToolDefinition } from '../risk/types.js';
import { openPinStore, storageExists } from '../store/open.js';
import type { PinStore } from '../store/pins.js';

export interface ServerScanEntry extends Classification {
  server: string;
  name: string;
  /** true: matches its pin; false: differs from it (definition_changed); null: never seen by warden. */
  pinned: boolean | null;
  /** Flow labels (docs/flows.md) with where each came from: the config's flows.labels or risk signals. */
  labels: LabelSource[];
}

export interface ServerScan {
  entries: ServerScanEntry[];
  /** Servers that could not be listed, with why (and the cause line of a stdio server's stderr, for the operator). */
  failures: Array<{ server: string; error: string; stderr?: string }>;
}

/** Pins are read only when the storage already exists: a scan never creates a database. */
async function pinsOf(config: GatewayConfig): Promise<PinStore | undefined> {
  const baseDir = dirname(config.file);
  return storageExists(config.storage, baseDir) ? openPinStore(config.storage, { baseDir }) : undefined;
}

/** Classifies one server's listed tools, with each tool's pin state. */
async function entriesOf(
  server: string,
  tools: readonly Record<string, unknown>[],
  pins: PinStore | undefined,
): Promise<ServerScanEntry[]> {
  const entries: ServerScanEntry[] = [];
  for (const t of tools) {
    const c = classify(t as unknown as ToolDefinition);
    const name = String(t.name);
    const pin = await pins?.get(server, name);
    const hash = definitionHash(t);
    const pinned = pin === undefined ? null : pin.hash === hash;
    if (pinned === false) {
      c.signals.push({
        kind: 'definition_changed',
        evidence: `pinned ${pin!.hash.slice(0, 12)} on ${pin!.acceptedAt}, now ${hash.slice(0, 12)}`,
      });
    }
    entries.push({
      server,
      name,
      category: c.category,
      risk: c.risk,
      signals: c.signals.map((s) => ({ kind: s.kind, evidence: s.evidence })),
      confidence: c.confidence,
      rationale: c.rationale,
      pinned,
      labels: [],
    });
  }
  return entries;
}

/**
 * Scans every configured server, several at a time; entries come out in config order whatever finishes first.
 * `progress` hears how many servers are done and which are still starting.
 */
export async function scanServers(
  config: GatewayConfig,
  progress: (done: number, label: string) => void = () => {},
): Promise<ServerScan> {
  const { listEveryUpstream } = await import('../proxy/list-tools.js');
  const listings = await listEveryUpstream(config.upstreams, (done, starting) =>
    progress(done, starting.length === 0 ? '' : `starting ${starting.join(', ')}`),
  );
  const pins = await pinsOf(config);
  const labels = new LabelResolver(config.flows);
  const entries: ServerScanEntry[] = [];
  const failures: ServerScan['failures'] = [];
  const listed: ServerTools[] = [];
  try {
    for (const l of listings) {
      if ('error' in l) failures.push(l);
      else {
        entries.push(...(await entriesOf(l.server, l.tools, pins)));
        listed.push({ server: l.server, tools: l.tools as unknown as ToolDefinition[] });
      }
    }
  } finally {
    await pins?.close();
  }
  // Shadowing needs every server's tools at once: a name two servers share, a description naming another's tool.
  for (const f of findShadowing(listed)) {
    entries.find((e) => e.server === f.server && e.name === f.tool)?.signals.push(f.signal);
  }
  // Labels last: derived ones read every signal, shadowing included.
  for (const e of entries) e.labels = labels.resolve(e.server, e.name, e);
  return { entries, failures };
}
