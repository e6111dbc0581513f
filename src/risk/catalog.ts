// The tool catalog: what each server's tools are (as last listed), their classification, and whether their
// definition still matches its pin. The policy step asks it about every call; the admin API lists it.
import { createHash } from 'node:crypto';
import { canonicalJson, type NewAuditEntry } from '../audit/chain.js';
import { eventBody } from '../audit/record.js';
import type { Logger } from '../log.js';
import type { Pin, PinStore } from '../store/pins.js';
import { classify } from './classify.js';
import type { Classification, ToolDefinition } from './types.js';

export interface ToolInfo {
  server: string;
  name: string;
  hash: string;
  classification: Classification;
  /** The definition differs from its pin and no admin has accepted it yet. */
  changed: boolean;
}

export interface ToolCatalogOptions {
  pins: PinStore;
  audit: (entry: NewAuditEntry) => Promise<unknown>;
  log: Logger;
  /** How long a "changed" answer is trusted before the store is asked again (an accept may come from a shell). */
  recheckMs?: number;
  now?: () => number;
}

/** Hashes of definition objects already seen: an upstream link keeps the same objects until its tools change. */
const hashes = new WeakMap<object, string>();

/** sha256 of the canonical JSON of what a tool tells the model: name, title, description, schemas, annotations. */
export function definitionHash(def: Record<string, unknown>): string {
  let hash = hashes.get(def);
  if (hash === undefined) {
    const { name, title, description, inputSchema, outputSchema, annotations } = def;
    hash = createHash('sha256')
      .update(canonicalJson({ name, title, description, inputSchema, outputSchema, annotations }))
      .digest('hex');
    hashes.set(def, hash);
  }
  return hash;
}

interface Known {
  info: ToolInfo;
  /** When a "changed" answer must be checked again. */
  recheckAt: number;
}

export class ToolCatalog {
  private readonly known = new Map<string, Known>();
  private readonly checking = new Map<string, Promise<ToolInfo>>();
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: ToolCatalogOptions) {
    this.recheckMs = opts.recheckMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Classifies a listed tool and checks it against its pin (pinning it on first sight). One store round trip per
   * server, tool and definition; rejects when the pin store cannot be reached (the caller fails closed).
   */
  inspect(server: string, def: Record<string, unknown>): Promise<ToolInfo> {
    const name = String(def.name ?? '');
    const hash = definitionHash(def);
    const key = `${server}\u0000${name}`;
    const known = this.known.get(key);
    if (
      known !== undefined &&
      known.info.hash === hash &&
      (!known.info.changed || this.now() < known.recheckAt)
    ) {
      return Promise.resolve(known.info);
    }
    const inFlight = this.checking.get(`${key}\u0000${hash}`);
    if (inFlight !== undefined) return inFlight;
    const check = this.check(server, name, hash, def).finally(() =>
      this.checking.delete(`${key}\u0000${hash}`),
    );
    this.checking.set(`${key}\u0000${hash}`, check);
    return check;
  }

  /** Inspects every tool of a list result (a tools/list answer seen by any session), in the background. */
  observe(server: string, tools: readonly Record<string, unknown>[]): void {
    for (const t of tools) {
      if (typeof t.name !== 'string') continue;
      this.inspect(server, t).catch((err: Error) =>
        this.opts.log.warn({ err: err.message, server, tool: t.name }, 'tool pin could not be checked'),
      );
    }
  }

  private async check(
    server: string,
    name: string,
    hash: string,
    def: Record<string, unknown>,
  ): Promise<ToolInfo> {
    const at = new Date(this.now()).toISOString();
    const result = await this.opts.pins.check(server, name, hash, JSON.stringify(def), at);
    const classification = classify(def as unknown as ToolDefinition);
    const changed = result.status === 'changed';
    if (changed) {
      classification.signals.push({
        kind: 'definition_changed',
        evidence: `pinned ${result.pin.hash.slice(0, 12)} on ${result.pin.acceptedAt}, now ${hash.slice(0, 12)}`,
      });
    }
    const info: ToolInfo = { server, name, hash, classification, changed };
    this.known.set(`${server}\u0000${name}`, { info, recheckAt: this.now() + this.recheckMs });
    if (result.status === 'changed' && result.first) {
      this.opts.log.warn({ server, tool: name }, 'tool definition changed since it was pinned');
      await this.record('tool.definition_changed', result.pin, '(upstream)');
    } else if (result.status === 'new') {
      await this.record('tool.pinned', result.pin, '(first use)');
    }
    return info;
  }

  /** Accepts a tool's changed definition as its new pin; undefined when it had no pending change. */
  async accept(server: string, tool: string, by: string): Promise<Pin | undefined> {
    const pin = await this.opts.pins.accept(server, tool, by, new Date(this.now()).toISOString());
    if (pin !== undefined) {
      this.known.delete(`${server}\u0000${tool}`);
      await this.record('tool.definition_accepted', pin, by);
    }
    return pin;
  }

  /** Whether an upstream listed this tool (metrics give only such names a label value of their own). */
  has(server: string, tool: string): boolean {
    return this.known.has(`${server}\u0000${tool}`);
  }

  /** The tools seen so far (by server, then name). */
  list(): ToolInfo[] {
    return [...this.known.values()]
      .map((k) => k.info)
      .sort((a, b) =>
        a.server === b.server ? a.name.localeCompare(b.name) : a.server.localeCompare(b.server),
      );
  }

  private async record(event: string, pin: Pin, actor: string): Promise<void> {
    const body = eventBody(event, {
      grant: null,
      actor,
      reason: `${pin.server}/${pin.tool} ${event === 'tool.definition_changed' ? `${pin.hash} -> ${pin.changedHash}` : pin.hash}`,
      server: pin.server,
      tool: pin.tool,
    });
    await this.opts.audit({
      time: new Date(this.now()).toISOString(),
      kind: 'event',
      requestKey: `${pin.server}/${pin.tool}:${event}:${pin.changedHash ?? pin.hash}:${this.now()}`,
      body: body as unknown as Record<string, unknown>,
    });
  }
}
