// The one message-level interface every transport implements, in both directions (the SDK's Transport, narrowed).
import type { Identity } from '../identity/authenticate.js';
import type { JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, RequestId } from './jsonrpc.js';

export interface MessageTransport {
  start(): Promise<void>;
  /** Resolves when the message is handed to the wire; rejects when it cannot be. */
  send(message: JsonRpcMessage): Promise<void>;
  close(): Promise<void>;
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: (error?: Error) => void;
  onerror?: (error: Error) => void;
  /** Called after initialize so HTTP transports can send the MCP-Protocol-Version header. */
  setProtocolVersion?: (version: string) => void;
  /** Ends the session at the other end, where the transport has one (Streamable HTTP: DELETE with its session id). */
  terminate?: () => Promise<void>;
  /**
   * The channel the server sends on unasked (list_changed among it): a number that changes each time the channel is
   * opened again, undefined while there is none. Left out by transports whose channel lives as long as they do (stdio,
   * legacy SSE). Streamable HTTP: the GET stream, which a server may not offer at all (stateless servers answer 405).
   */
  channel?: () => number | undefined;
}

/** Where a session's messages for the agent go. `relatedRequestId` picks the HTTP stream they travel on. */
export interface DownstreamPort {
  send(message: JsonRpcMessage, relatedRequestId?: RequestId): void;
  close(): void;
}

/** What a transport hands an agent's messages to: a session (proxy/session.ts), seen from the transport side. */
export interface SessionSink {
  handle(message: JsonRpcMessage): void;
  /**
   * Takes over a session another replica opened: starts the upstreams with the agent's original initialize params,
   * without answering anyone (the agent had its answer from the other replica).
   */
  restore(initializeParams: Record<string, unknown>): void;
  close(): Promise<void>;
  /**
   * Stops the session's upstreams while it sits idle (the next request starts them again); resolves with whether it
   * stopped anything. Optional: a sink without it keeps its upstreams until it is closed.
   */
  suspend?(): Promise<boolean>;
  /**
   * The agent can no longer receive the answer to request `id` (the HTTP request that carried it closed first), or,
   * without an id, to any request of the session (stdin ended). See CallContext.agentGoneHooks.
   */
  agentGone?(why: string, id?: RequestId): void;
  /**
   * A 2026 agent's retry that answers what the upstream asked (`asked`) during call `original` (src/era/bridge.ts):
   * it is a request of its own, with its own audit record linked to the call's (`round`), and no new decision. Its
   * answer comes by `answerRound`. `reply` is the agent's answer to the upstream's request: the session hands it
   * upstream once the retry has passed the checks that run before it (on stdio, the grant recheck); a retry refused
   * there answers the upstream's request with an error and cancels the call. Optional: without it the retry is
   * answered without a record.
   */
  continueRound?(retry: JsonRpcRequest, original: RequestId, asked: string, reply: JsonRpcResponse): void;
  /** The answer of a retry handed to continueRound: the call's own result, or the upstream's next question. */
  answerRound?(retry: RequestId, answer: JsonRpcResponse): void;
  readonly lastActivity: number;
  readonly busy: boolean;
}

/** Makes a session for an endpoint (`undefined` = aggregated) that sends to `port`, acting for `identity`. */
export type SessionFactory = (
  endpoint: string | undefined,
  port: DownstreamPort,
  sessionId: string,
  identity: Identity,
) => SessionSink;
