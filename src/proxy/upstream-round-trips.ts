// The round trips of a link's 2026 calls whose answer may be an InputRequiredResult (run by src/era/input-bridge.ts),
// and how a call in round trips is cancelled, whichever of its upstream requests is in flight.
import { type BridgeHooks, runRoundTrips } from '../era/input-bridge.js';
import type { JsonRpcResponse } from '../transport/jsonrpc.js';
import type { CallOptions, UpstreamCall } from './upstream-parts.js';

/** What the round trips ask of their link. */
export interface RoundTripHooks {
  /** Sends one upstream request (a retry). */
  leg(method: string, params: Record<string, unknown> | undefined, options: CallOptions): UpstreamCall;
  /** Asks the agent one of the upstream's input requests; `asked` learns the id it is asked under. */
  ask(
    method: string,
    params: Record<string, unknown> | undefined,
    asked: (id: string) => void,
  ): Promise<JsonRpcResponse>;
  /** Withdraws a question the agent has not answered yet. */
  withdraw(id: string): void;
  closed(): boolean;
}

export class RoundTrips {
  /** 2026 calls in round trips, by the id their caller knows: the request in flight now, and how to stop them. */
  private readonly legs = new Map<number, { current: () => number; cancel: () => void }>();

  constructor(private readonly hooks: RoundTripHooks) {}

  /**
   * Runs the round trips of a call whose first request is `first`, each retry a new upstream request; cancelling the
   * call cancels whichever of them is in flight. The caller sees one call under the first request's id.
   */
  run(
    first: UpstreamCall,
    method: string,
    params: Record<string, unknown> | undefined,
    options: CallOptions,
  ): UpstreamCall {
    const legs: UpstreamCall[] = [first];
    let cancelled = false;
    let asking: string | undefined;
    let stop!: () => void;
    const stopped = new Promise<undefined>((resolve) => {
      stop = () => resolve(undefined);
    });
    this.legs.set(first.upstreamId, {
      current: () => legs[legs.length - 1]!.upstreamId,
      cancel: () => {
        cancelled = true;
        // A question the agent has not answered yet is withdrawn; the caller hears at once that nothing comes.
        if (asking !== undefined) this.hooks.withdraw(asking);
        stop();
      },
    });
    const hooks: BridgeHooks = {
      ask: (m, p) =>
        this.hooks.ask(m, p, (id) => {
          asking = id;
        }),
      retry: (p) => {
        const next = this.hooks.leg(method, p, options);
        legs.push(next);
        return next.response;
      },
      cancelled: () => cancelled || this.hooks.closed(),
    };
    const trips = first.response.then((r) => runRoundTrips(r, params, hooks));
    const response = Promise.race([trips, stopped]).finally(() => this.legs.delete(first.upstreamId));
    return {
      upstreamId: first.upstreamId,
      response,
      get sent() {
        return legs.some((l) => l.sent);
      },
    };
  }

  /**
   * Stops the round trips of the call its caller knows by this id, if it is in round trips; returns the id of the
   * upstream request in flight now (the id itself for any other call).
   */
  cancel(upstreamId: number): number {
    const trip = this.legs.get(upstreamId);
    if (trip === undefined) return upstreamId;
    trip.cancel();
    return trip.current();
  }
}
