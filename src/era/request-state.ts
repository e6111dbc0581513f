// The requestState warden hands a 2026 client in an InputRequiredResult: sealed (HMAC-SHA256), so that the retry can
// only resume the very call it was issued for, before it expires (#18.4). Not encrypted: it names an approval id and
// a fingerprint, nothing the agent did not send; an upstream's own requestState rides inside unchanged.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../audit/chain.js';
import { WardenError } from '../errors.js';

/** Marks warden's states apart from an upstream's (which pass through unsealed when no approval is involved). */
export const STATE_PREFIX = 'mcpw1.';
/** Bound into every MAC, so that a key shared with another use (an audit key, a webhook secret) cannot mint states. */
const DOMAIN = 'mcp-warden/request-state/v1\n';

/** What a sealed state says. Short keys: the agent echoes the whole string on every retry. */
export interface RequestState {
  /** What the round trip waits for: a person's approval, or the answer to an upstream's own input request. */
  kind: 'approval' | 'upstream';
  /** The approval this call needs (kind approval), or the one it already spent (kind upstream, when one was). */
  approval: string | undefined;
  /** stateFingerprint() of the call: server, tool, canonical arguments, rule, grant and OAuth subject. */
  fingerprint: string;
  /** Until when (ms since the epoch) the state may be used. */
  expiresAt: number;
  /** The audit link: the first request's approval or request id, and which round this state leads to. */
  round: { of: string; n: number };
  /** The upstream's own requestState, handed back to it on the retry. */
  upstream: string | undefined;
}

export type Opened =
  | { ok: true; state: RequestState }
  | { ok: false; why: 'malformed' | 'forged' }
  /** Genuine but past its expiry: the state is given so that the caller can say what became of its approval. */
  | { ok: false; why: 'expired'; state: RequestState };

/**
 * What ties a state to one call: the approval fingerprint (server, tool, canonical arguments, rule, grant) and the
 * OAuth subject, so that a state is useless to another person behind the same grant.
 */
export function stateFingerprint(approvalFingerprint: string, subject: string | undefined): string {
  return createHash('sha256')
    .update(canonicalJson([approvalFingerprint, subject ?? null]))
    .digest('hex');
}

/** Whether a string is a state warden sealed (as opposed to an upstream's own, or garbage). */
export function isWardenState(s: unknown): s is string {
  return typeof s === 'string' && s.startsWith(STATE_PREFIX);
}

export class RequestStateSealer {
  private readonly key: Buffer;

  /** `key`: at least 32 bytes. `now`: the clock (ms), injected for tests. */
  constructor(
    key: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    if (key.length < 32)
      throw new WardenError('CONFIG_INVALID', 'The request-state key is shorter than 32 bytes', {
        hint: 'Set approvals.stateKey to at least 32 characters (e.g. `openssl rand -base64 48`)',
      });
    this.key = Buffer.from(key);
  }

  seal(state: RequestState): string {
    const body: Record<string, unknown> = {
      k: state.kind,
      f: state.fingerprint,
      e: state.expiresAt,
      r: [state.round.of, state.round.n],
    };
    if (state.approval !== undefined) body.a = state.approval;
    if (state.upstream !== undefined) body.u = state.upstream;
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return `${STATE_PREFIX}${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** Checks the MAC first (nothing of a forged state is read), then the shape, then the expiry. */
  open(sealed: unknown): Opened {
    if (!isWardenState(sealed)) return { ok: false, why: 'malformed' };
    const rest = sealed.slice(STATE_PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot <= 0 || rest.indexOf('.', dot + 1) !== -1) return { ok: false, why: 'malformed' };
    const payload = rest.slice(0, dot);
    const given = Buffer.from(rest.slice(dot + 1), 'base64url');
    const want = this.mac(payload);
    // Re-encoding catches MACs spelled with trailing junk that base64url decoding would forgive.
    if (
      given.length !== want.length ||
      given.toString('base64url') !== rest.slice(dot + 1) ||
      !timingSafeEqual(given, want)
    )
      return { ok: false, why: 'forged' };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return { ok: false, why: 'malformed' };
    }
    const r = body.r;
    if (
      (body.k !== 'approval' && body.k !== 'upstream') ||
      typeof body.f !== 'string' ||
      typeof body.e !== 'number' ||
      !Array.isArray(r) ||
      typeof r[0] !== 'string' ||
      typeof r[1] !== 'number' ||
      (body.a !== undefined && typeof body.a !== 'string') ||
      (body.u !== undefined && typeof body.u !== 'string')
    )
      return { ok: false, why: 'malformed' };
    const state: RequestState = {
      kind: body.k,
      approval: body.a as string | undefined,
      fingerprint: body.f,
      expiresAt: body.e,
      round: { of: r[0], n: r[1] },
      upstream: body.u as string | undefined,
    };
    return this.now() >= body.e ? { ok: false, why: 'expired', state } : { ok: true, state };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(DOMAIN).update(payload).digest();
  }
}

/** Equal fingerprints, compared in constant time. */
export function sameFingerprint(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The key from config (`approvals.stateKey`, or the file `approvals.stateKeyFile`), else a random one that lives as
 * long as the process: fine for one replica; replicas that serve each other's retries need the configured key.
 */
export function stateKeyFrom(config: { stateKey?: string | undefined; stateKeyFile?: string | undefined }): {
  key: Buffer;
  generated: boolean;
} {
  if (config.stateKey !== undefined && config.stateKey !== '')
    return { key: Buffer.from(config.stateKey, 'utf8'), generated: false };
  if (config.stateKeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.stateKeyFile, 'utf8');
    } catch (err) {
      throw new WardenError(
        'CONFIG_INVALID',
        `approvals.stateKeyFile could not be read: ${config.stateKeyFile}`,
        {
          cause: err,
        },
      );
    }
    return { key: Buffer.from(text.trim(), 'utf8'), generated: false };
  }
  return { key: randomBytes(32), generated: true };
}
