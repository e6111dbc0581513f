// What a request carries through the pipeline: the agent's request, where it goes, what came back, what to reply.

import type { Span, Tracer } from '@opentelemetry/api';
import type { Era } from '../era/versions.js';
import { envelopeCapabilities, eraOfMessage } from '../era/wire.js';
import type { FlowAudit } from '../flows/audit.js';
import type { GuardHit } from '../guards/scan.js';
import type { Identity } from '../identity/authenticate.js';
import type { Decision } from '../policy/types.js';
import type { Reply } from '../proxy/downstream.js';
import type { NameTable } from '../proxy/naming.js';
import type { UpstreamLink } from '../proxy/upstream.js';
import type { ApprovalStatus } from '../store/approvals.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../transport/jsonrpc.js';

/** The session as the pipeline sees it. */
export interface SessionView {
  readonly id: string;
  /** Who the session acts for: the grant that opened it, or nobody (anonymous access). */
  readonly identity: Identity;
  /** The server of a per-server endpoint; undefined on the aggregated endpoint. */
  readonly server: string | undefined;
  readonly links: ReadonlyMap<string, UpstreamLink>;
  readonly names: NameTable;
  /** URIs seen in this session's resource lists, to route reads on the aggregated endpoint. */
  readonly resourceOwners: Map<string, string>;
  /** Resource templates seen in this session's lists, with the server that listed each. */
  readonly templates: Array<{ server: string; uriTemplate: string }>;
  /** Sends a progress notification to the agent on the request's own stream. */
  progress(request: JsonRpcRequest, params: Record<string, unknown>): void;
}

export interface Target {
  server: string;
  link: UpstreamLink;
  params: Record<string, unknown> | undefined;
}

export interface TargetResult {
  server: string;
  /** undefined when the call was cancelled. */
  response: JsonRpcResponse | undefined;
}

export interface CallContext {
  readonly session: SessionView;
  readonly request: JsonRpcRequest;
  readonly method: string;
  /** The protocol era the agent's request belongs to (SPEC §12); steps that answer differently per era read it. */
  era: Era;
  /**
   * What the agent declared it can do: a 2026 request's own `_meta` client capabilities, a 2025 session's from its
   * initialize. undefined when unknown.
   */
  clientCapabilities: Record<string, unknown> | undefined;
  /**
   * Labels this request's result adds to the conversation beyond its tool's own (SPEC §13): a result guard that
   * flagged the result puts its label here, the flow step records them.
   */
  resultLabels: string[];
  /** What the result guards found and did (src/pipeline/guard.ts), for the audit record; undefined: nothing. */
  guards?: GuardHit[];
  /** What the flow step decided and recorded (the audit record's `flow` field); undefined when it had nothing to do. */
  flow?: FlowAudit | undefined;
  /** Upstream requests this request turns into: one, or several on aggregated lists. */
  targets: Target[];
  results: TargetResult[];
  /** The policy decision, once made (tools/call; prompts and resources a policy names). */
  decision: Decision | undefined;
  /** Set when a limit refused the call (the audit decision is then `rate_limited`). */
  limited: { rule: string; reason: string } | undefined;
  /** The approval this call needed, and where it stands (the audit decision follows it). */
  approval: { id: string; status: ApprovalStatus } | undefined;
  /**
   * Which round of a 2026 round trip this request is (#18.4): `of` names the first request's approval (or request id),
   * `n` counts from 1. undefined outside round trips. The audit record carries it as `round`.
   */
  round: { of: string; n: number } | undefined;
  /**
   * Set when this request is a 2026 agent's retry answering what an upstream asked during an earlier call (the
   * bridge, src/era/bridge.ts): that call's context, which round this is, what the upstream asked, and the answer
   * the retry will get (undefined: the call ended without one). `forward` hands the agent's answer to the upstream:
   * the bridged-round step calls it once the request has passed the steps before it (the grant recheck on stdio);
   * a retry refused before that never reaches the upstream. See src/pipeline/bridged-round.ts.
   */
  continues?: {
    first: CallContext;
    n: number;
    asked: string;
    answer: Promise<Reply | undefined>;
    forward: () => void;
  };
  /** The audit record of this request: its key, and whether its decision entry is already committed. */
  audit: { key: string; committed: boolean } | undefined;
  /** The request's trace span, when tracing is on (upstream calls become its children). */
  trace: { tracer: Tracer; span: Span } | undefined;
  /** What the agent gets; undefined means no reply (the agent cancelled). */
  reply: Reply | undefined;
  cancelled: boolean;
  /** Run when the agent cancels the request. */
  cancelHooks: Array<(reason: string | undefined) => void>;
  /**
   * Run when the agent can no longer receive the answer (its HTTP request closed, its stdin ended) without
   * cancelling. Not a cancellation: a forwarded call runs to its end; a call held for approval is withdrawn (#17.24).
   */
  agentGoneHooks: Array<(why: string) => void>;
  /** Why the agent went away, once it did (for steps that register their hook later). */
  agentGone: string | undefined;
  /**
   * The upstream requests made for this request. Once one of them was `sent`, the call may have run upstream: its
   * limits stay spent and its audit record says `forwarded` (#17.2).
   */
  upstreamCalls: Array<{ readonly sent: boolean }>;
}

/** Whether any upstream request of this request reached its upstream (see UpstreamCall.sent). */
export function sentUpstream(ctx: CallContext): boolean {
  for (const c of ctx.upstreamCalls) if (c.sent) return true;
  return false;
}

export function createContext(session: SessionView, request: JsonRpcRequest): CallContext {
  return {
    session,
    request,
    method: request.method,
    // The request's own envelope decides (SPEC §12): the same request runs the same pipeline in either era.
    era: eraOfMessage(request),
    clientCapabilities: envelopeCapabilities(request),
    resultLabels: [],
    targets: [],
    results: [],
    decision: undefined,
    limited: undefined,
    approval: undefined,
    round: undefined,
    audit: undefined,
    trace: undefined,
    reply: undefined,
    cancelled: false,
    cancelHooks: [],
    agentGoneHooks: [],
    agentGone: undefined,
    upstreamCalls: [],
  };
}

export function cancelContext(ctx: CallContext, reason: string | undefined): void {
  if (ctx.cancelled) return;
  ctx.cancelled = true;
  for (const hook of ctx.cancelHooks) hook(reason);
}
