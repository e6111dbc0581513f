// The audit record's body (schema v1, docs/audit-format.md), built from a request's context.

import type { Era } from '../era/versions.js';
import type { FlowAudit } from '../flows/audit.js';
import type { GuardHit } from '../guards/scan.js';
import type { Decision } from '../policy/types.js';
import type { AuditArgs } from './redact.js';

export const AUDIT_SCHEMA_VERSION = 1;

export type AuditDecision =
  | 'allowed'
  | 'denied'
  | 'hidden'
  | 'rate_limited'
  | 'approval_pending'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'error'
  /** Not a request: a lifecycle event (grant created, revoked, ...), named by `method`. */
  | 'event';

export type UpstreamOutcome =
  | 'ok'
  | 'tool_error'
  | 'error'
  | 'timeout'
  | 'cancelled'
  | 'not_called'
  | 'unknown';

export interface AuditBody {
  v: number;
  requestId: string | number | null;
  session: string | null;
  grant: string | null;
  server: string | null;
  method: string;
  tool: string | null;
  decision: AuditDecision;
  rule: string | null;
  policy: string | null;
  reason: string | null;
  shadow: boolean;
  /** Filled in the outcome (or final) entry; null in a decision entry. */
  outcome: UpstreamOutcome | null;
  /**
   * Whether the request reached its upstream (it may have run there, and its limits stay spent), whatever the outcome:
   * `cancelled` with `forwarded: true` is a call the agent cancelled after it was sent (#17.2). Filled in the outcome
   * (or final) entry of a request the pipeline audits; null in a decision entry; absent in events.
   */
  forwarded?: boolean | null;
  errorCode: number | null;
  latencyMs: number | null;
  args: AuditArgs | null;
  /** The approval the call needed (its id), when it needed one. */
  approval?: string;
  /**
   * Which round of a 2026 round trip this request was (#18.4): `of` is the first request's approval id (or request id),
   * `n` counts from 1. Absent outside round trips.
   */
  round?: { of: string; n: number };
  /**
   * What the result guards found and did (docs/guards.md): per guard, its action, rule ids and match counts, never
   * the matched value; `shadow: true` when the guard only recorded. Only in the outcome (or final) entry.
   */
  guards?: GuardHit[];
  /** The flow step's decision and the labels it recorded (docs/flows.md); absent when no flow rule or label applied. */
  flow?: FlowAudit;
  /** Events only: who did it (an admin token's label, `(cli)`, `(environment)`). */
  actor?: string;
  /**
   * The OAuth subject the agent acts for (SPEC §14, `auth.oauth.identity.subject`), on every record of a request made
   * with an identity provider's token; `grant` is null then. Absent for grants and anonymous agents.
   */
  subject?: string;
  /**
   * The protocol era the agent spoke in this request (SPEC §12): `2025-11-25` (older 2025-era revisions too) or
   * `2026-07-28`. On every record the pipeline writes; absent in lifecycle events and in records written before it
   * existed (the hash covers the body as it was written, so those still verify).
   */
  era?: Era;
}

/** The body of a lifecycle event entry: the request fields that do not apply are null. */
export function eventBody(
  event: string,
  fields: {
    grant: string | null;
    actor: string;
    reason: string;
    server?: string | null;
    tool?: string | null;
    /** Whom the event concerns (an upstream credential's subject), when that is not a grant. */
    subject?: string;
  },
): AuditBody {
  return {
    ...(fields.subject === undefined ? {} : { subject: fields.subject }),
    v: AUDIT_SCHEMA_VERSION,
    requestId: null,
    session: null,
    grant: fields.grant,
    server: fields.server ?? null,
    method: event,
    tool: fields.tool ?? null,
    decision: 'event',
    rule: null,
    policy: null,
    reason: fields.reason,
    shadow: false,
    outcome: null,
    errorCode: null,
    latencyMs: null,
    args: null,
    actor: fields.actor,
  };
}

export function decisionName(d: Decision | undefined): AuditDecision {
  if (d === undefined) return 'allowed';
  switch (d.outcome) {
    case 'allow':
      return 'allowed';
    case 'hidden':
      return 'hidden';
    case 'require_approval':
      return 'approval_pending';
    default:
      return 'denied';
  }
}
