// The tool catalog: what each server's tools are (as last listed), their classification, and whether their
// definition still matches its pin. The policy step asks it about every call; the admin API lists it.
import { createHash } from 'node:crypto';
import { canonicalJson, type NewAuditEntry } from '../audit/chain.js';
import { eventBody } from '../audit/record.js';
import type { Logger } from '../log.js';
import { FIRST_USE, type Pin, type PinStore } from '../store/pins.js';
import { classify } from './classify.js';
import type { Classification, ToolDefinition } from './types.js';

export interface ToolInfo {
  server: string;
  name: string;
  hash: string;
  classification: Classification;
  /** The definition differs from its pin and no admin has accepted it yet. */
  changed: boolean;
  /** The definition is flagged as tool poisoning and no person has accepted it (trust on first use does not count). */
  poisoned: boolean;
  /**
   * The last definition a person (or first use, when it is clean) accepted, as the upstream listed it, when the
   * current one is flagged: what `hold` lists instead. Undefined when there is none fit to show.
   */
  accepted: Record<string, unknown> | undefined;
}

/** Whether a classification carries a tool_poisoning finding. */
export function isPoisoned(c: Classification): boolean {
  return c.signals.some((s) => s.kind === 'tool_poisoning');
}

/** A pinned definition's JSON text as an object, or undefined when it is not one (a damaged row). */
function parseDefinition(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The pin's accepted definition when it may be shown: not one flagged as poisoning that only first use accepted. */
export function showableAccepted(pin: Pin): Record<string, unknown> | undefined {
  const def = parseDefinition(pin.definition);
  if (def === undefined) return undefined;
  if (pin.acceptedBy === FIRST_USE && isPoisoned(classify(def as unknown as ToolDefinition)))
    return undefined;
  return def;
}

export interface ToolCatalogOptions {
  pins: PinStore;
  audit: (entry: NewAuditEntry) => Promise<unknown>;
  log: Logger;
  /** How long a "changed" answer is trusted before the store is asked again (an accept may come from a shell). */
  recheckMs?: number;
  now?: () => number;
  /** Told when a definition was accepted here, so agents can be told to list their tools again. */
  onAccepted?: (server: string, tool: string) => void;
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
  private acceptedCount = 0;

  /** Grows with every accept made here: a list reviewed before it must be reviewed again. */
  get generation(): number {
    return this.acceptedCount;
  }
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
      ((!known.info.changed && !known.info.poisoned) || this.now() < known.recheckAt)
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
    // Poisoned unless a person accepted this very definition: first use pins it, but vouches for nothing.
    const poisoned = isPoisoned(classification) && (changed || result.pin.acceptedBy === FIRST_USE);
    const accepted = changed ? showableAccepted(result.pin) : undefined;
    const info: ToolInfo = { server, name, hash, classification, changed, poisoned, accepted };
    this.known.set(`${server}\u0000${name}`, { info, recheckAt: this.now() + this.recheckMs });
    if (result.status === 'changed' && result.first) {
      this.opts.log.warn({ server, tool: name }, 'tool definition changed since it was pinned');
      await this.record('tool.definition_changed', result.pin, '(upstream)');
    } else if (result.status === 'new') {
      await this.record('tool.pinned', result.pin, '(first use)');
    }
    return info;
  }

  /**
   * Accepts a tool's changed definition as its new pin, or vouches for a first-use pin flagged as poisoning;
   * `hash` accepts only that definition (the one the person reviewed). Undefined when there was nothing to accept.
   */
  async accept(server: string, tool: string, by: string, hash?: string): Promise<Pin | undefined> {
    const current = await this.opts.pins.get(server, tool);
    if (current === undefined) return undefined;
    const firstUse =
      current.changedHash === undefined &&
      current.acceptedBy === FIRST_USE &&
      showableAccepted(current) === undefined;
    const pin = await this.opts.pins.accept(server, tool, by, new Date(this.now()).toISOString(), {
      firstUse,
      ...(hash === undefined ? {} : { hash }),
    });
    if (pin !== undefined) {
      const key = `${server}\u0000${tool}`;
      const known = this.known.get(key);
      // The definition seen here is the one now accepted: it stays listed, no longer flagged. Anything else is
      // checked again on its next sighting.
      if (known !== undefined && known.info.hash === pin.hash) {
        const signals = known.info.classification.signals.filter((s) => s.kind !== 'definition_changed');
        const info: ToolInfo = {
          ...known.info,
          classification: { ...known.info.classification, signals },
          changed: false,
          poisoned: false,
          accepted: undefined,
        };
        this.known.set(key, { info, recheckAt: this.now() + this.recheckMs });
      } else this.known.delete(key);
      this.acceptedCount++;
      await this.record('tool.definition_accepted', pin, by);
      this.opts.onAccepted?.(server, tool);
    }
    return pin;
  }

  /** The pin of a tool with what a reviewer needs: both definitions and whether each is flagged. */
  async pin(server: string, tool: string): Promise<Pin | undefined> {
    return this.opts.pins.get(server, tool);
  }

  /** Whether an upstream listed this tool (metrics give only such names a label value of their own). */
  has(server: string, tool: string): boolean {
    return this.known.has(`${server}\u0000${tool}`);
  }

  /** What is known of a listed tool (its classification for flow labels), or undefined before it was listed. */
  info(server: string, tool: string): ToolInfo | undefined {
    return this.known.get(`${server}\u0000${tool}`)?.info;
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
