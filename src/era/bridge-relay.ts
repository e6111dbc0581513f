// The bridge across replicas (#18 part 3): a 2026 client's retry that answers an upstream's question may reach a
// replica other than the one holding the upstream call. With Redis, the bridge state names the holder (sealed with the
// request-state key, so a client cannot point it elsewhere or change whose call it is), and the replica that receives
// the retry relays it over Redis pub/sub to the holder, which resumes the call as if the retry had come to it and sends
// every message for the retry back (progress, the call's result or the next InputRequiredResult). The holder
// acknowledges at once and beats while the call runs, so a holder that is gone or stuck is an error, never a hang.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { BridgeBus } from '../state/bridge-bus.js';
import {
  errorResponse,
  INTERNAL_ERROR,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type RequestId,
} from '../transport/jsonrpc.js';
import { BRIDGE_STATE_PREFIX } from './bridge.js';

/** Bound into every MAC: a bridge state can never pass for an approval state (src/era/request-state.ts) or back. */
const DOMAIN = 'mcp-warden/bridge-state/v1\n';

/** Where the messages of one request go: an HTTP response stream, or the relay back to another replica. */
export interface AnswerSink {
  /** `answers`: the request this message answers (the last one), undefined for progress and the like. */
  deliver(message: JsonRpcMessage, answers: RequestId | undefined): unknown;
  /** The request ends without an answer (its session closed). */
  end(): void;
}

/** A retry relayed here to resume a call this replica holds. */
export interface RelayedCall {
  /** The key of the shared session (endpoint and caller) the relaying replica authenticated the retry for. */
  hub: string;
  /** The retry, its requestState back in this process's own form (`mcpwb1.<token>`). */
  request: JsonRpcRequest;
}

export type OpenedBridgeState = { ok: true; replica: string; token: string } | { ok: false; reason: string };

type Wire =
  | { t: 'call'; id: string; from: string; hub: string; request: JsonRpcRequest }
  | { t: 'cancel'; id: string }
  | { t: 'ack' | 'beat' | 'end'; id: string }
  | { t: 'msg'; id: string; message: JsonRpcMessage; answers: RequestId | null };

interface Outgoing {
  sink: AnswerSink;
  request: JsonRpcRequest;
  holder: string;
  timer: NodeJS.Timeout;
}

interface Incoming {
  from: string;
  cancel: () => void;
}

export interface BridgeRelayOptions {
  bus: BridgeBus;
  /** The request-state key (approvals.stateKey): the same on every replica, or states of one do not open on another. */
  key: Buffer;
  /** Channels are `<prefix>bridge:<replica>` (the state prefix, so that deployments sharing a Redis stay apart). */
  prefix: string;
  log: Logger;
  /** How often the holder says a relayed call still runs (ms). */
  beatMs?: number;
  /** Silence (no acknowledgement, beat or message) after which a relayed retry is given up (ms). */
  silenceMs?: number;
}

export const NOT_SEALED =
  'This requestState was not issued by warden, or was altered. Make the call again without requestState';

export function isBridgeState(s: unknown): s is string {
  return typeof s === 'string' && s.startsWith(BRIDGE_STATE_PREFIX);
}

function hubDigest(hubKey: string): string {
  return createHash('sha256').update(hubKey).digest('base64url').slice(0, 22);
}

export class BridgeRelay {
  /** This replica's name in states and channels: random per process (a restarted replica holds no calls). */
  readonly replica = randomBytes(12).toString('base64url');
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private handler: ((call: RelayedCall, sink: AnswerSink) => () => void) | undefined;
  private readonly beat: NodeJS.Timeout;
  private readonly beatMs: number;
  private readonly silenceMs: number;
  private closed = false;

  private constructor(private readonly opts: BridgeRelayOptions) {
    this.beatMs = opts.beatMs ?? 2000;
    this.silenceMs = opts.silenceMs ?? 10_000;
    this.beat = setInterval(() => {
      for (const [id, i] of this.incoming) this.post(i.from, { t: 'beat', id });
    }, this.beatMs);
    this.beat.unref();
  }

  /** Subscribes to this replica's channel; `ready` resolves when other replicas can reach it. */
  static start(opts: BridgeRelayOptions): { relay: BridgeRelay; ready: Promise<void> } {
    const relay = new BridgeRelay(opts);
    const ready = opts.bus.subscribe(relay.channel(relay.replica), (text) => relay.receive(text));
    return { relay, ready };
  }

  private channel(replica: string): string {
    return `${this.opts.prefix}bridge:${replica}`;
  }

  // --- the state ---

  /** The state a client gets: this replica, the parked request's token, and whose session it is, sealed. */
  wrap(state: string, hubKey: string): string {
    const token = state.slice(BRIDGE_STATE_PREFIX.length);
    const payload = Buffer.from(JSON.stringify({ r: this.replica, t: token, h: hubDigest(hubKey) })).toString(
      'base64url',
    );
    return `${BRIDGE_STATE_PREFIX}${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** Checks the MAC first (nothing of a forged state is read), then the shape, then that the caller is the same. */
  open(state: string, hubKey: string): OpenedBridgeState {
    const rest = state.slice(BRIDGE_STATE_PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot <= 0 || rest.indexOf('.', dot + 1) !== -1) return { ok: false, reason: NOT_SEALED };
    const payload = rest.slice(0, dot);
    const given = Buffer.from(rest.slice(dot + 1), 'base64url');
    const want = this.mac(payload);
    if (
      given.length !== want.length ||
      given.toString('base64url') !== rest.slice(dot + 1) ||
      !timingSafeEqual(given, want)
    )
      return { ok: false, reason: NOT_SEALED };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return { ok: false, reason: NOT_SEALED };
    }
    if (typeof body.r !== 'string' || typeof body.t !== 'string' || typeof body.h !== 'string')
      return { ok: false, reason: NOT_SEALED };
    if (body.h !== hubDigest(hubKey))
      return { ok: false, reason: 'This requestState was issued to another caller or for another endpoint' };
    return { ok: true, replica: body.r, token: body.t };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.opts.key).update(DOMAIN).update(payload).digest();
  }

  // --- relaying a retry to the holder ---

  /**
   * Sends `request` (its state already in the holder's own form) to replica `holder`; every message for it reaches
   * `sink`, ending with its answer or an error. Returns the function that cancels it (the agent went away).
   */
  relay(holder: string, hubKey: string, request: JsonRpcRequest, sink: AnswerSink): () => void {
    const id = randomBytes(12).toString('base64url');
    const out: Outgoing = { sink, request, holder, timer: this.silence(id) };
    this.outgoing.set(id, out);
    this.opts.bus
      .publish(
        this.channel(holder),
        JSON.stringify({ t: 'call', id, from: this.replica, hub: hubKey, request } satisfies Wire),
      )
      .then(
        (heard) => {
          if (heard === 0)
            this.fail(
              id,
              'The replica that held this call is gone, and the call with it. Make the call again without requestState',
            );
        },
        (err: Error) =>
          this.fail(id, `The bridge relay (Redis) is unavailable: ${err.message}. Make the call again later`),
      );
    return () => {
      const o = this.outgoing.get(id);
      if (o === undefined) return;
      clearTimeout(o.timer);
      this.outgoing.delete(id);
      this.post(holder, { t: 'cancel', id });
    };
  }

  private silence(id: string): NodeJS.Timeout {
    const t = setTimeout(
      () =>
        this.fail(
          id,
          `The replica that holds this call did not answer for ${Math.round(this.silenceMs / 1000)} s (it stopped, or Redis lost the messages). Make the call again without requestState`,
        ),
      this.silenceMs,
    );
    t.unref();
    return t;
  }

  /** Ends a relayed retry with an error (internal: the agent did nothing wrong). */
  private fail(id: string, why: string): void {
    const o = this.outgoing.get(id);
    if (o === undefined) return;
    clearTimeout(o.timer);
    this.outgoing.delete(id);
    this.opts.log.warn({ holder: o.holder, why }, 'bridge relay failed');
    o.sink.deliver(errorResponse(o.request.id, INTERNAL_ERROR, why), o.request.id);
  }

  // --- serving retries relayed here ---

  /** What resumes a relayed retry here; it returns the function that cancels it. */
  serve(handler: (call: RelayedCall, sink: AnswerSink) => () => void): void {
    this.handler = handler;
  }

  private receive(text: string): void {
    if (this.closed) return;
    let m: Wire;
    try {
      m = JSON.parse(text) as Wire;
    } catch {
      return;
    }
    if (typeof m?.id !== 'string') return;
    switch (m.t) {
      case 'call':
        this.accept(m);
        return;
      case 'cancel': {
        const i = this.incoming.get(m.id);
        this.incoming.delete(m.id);
        i?.cancel();
        return;
      }
      case 'ack':
      case 'beat': {
        const o = this.outgoing.get(m.id);
        if (o === undefined) return;
        clearTimeout(o.timer);
        o.timer = this.silence(m.id);
        return;
      }
      case 'msg': {
        const o = this.outgoing.get(m.id);
        if (o === undefined) return;
        clearTimeout(o.timer);
        if (m.answers === null) o.timer = this.silence(m.id);
        else this.outgoing.delete(m.id);
        o.sink.deliver(m.message, m.answers ?? undefined);
        return;
      }
      case 'end': {
        const o = this.outgoing.get(m.id);
        if (o === undefined) return;
        clearTimeout(o.timer);
        this.outgoing.delete(m.id);
        o.sink.end();
        return;
      }
    }
  }

  private accept(m: Extract<Wire, { t: 'call' }>): void {
    const { id, from } = m;
    if (this.handler === undefined || typeof m.request !== 'object' || m.request === null) return;
    this.post(from, { t: 'ack', id });
    const sink: AnswerSink = {
      deliver: (message, answers) => {
        if (!this.incoming.has(id)) return false;
        if (answers !== undefined) this.incoming.delete(id);
        this.post(from, { t: 'msg', id, message, answers: answers ?? null });
        return true;
      },
      end: () => {
        if (!this.incoming.delete(id)) return;
        this.post(from, { t: 'end', id });
      },
    };
    this.incoming.set(id, { from, cancel: () => {} });
    const cancel = this.handler({ hub: m.hub, request: m.request }, sink);
    const i = this.incoming.get(id);
    if (i !== undefined) i.cancel = cancel;
  }

  private post(replica: string, message: Wire): void {
    this.opts.bus.publish(this.channel(replica), JSON.stringify(message)).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, 'bridge relay could not publish');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.beat);
    for (const id of [...this.outgoing.keys()])
      this.fail(id, 'The gateway is stopping. Make the call again without requestState');
    this.incoming.clear();
    await this.opts.bus.close();
  }
}
