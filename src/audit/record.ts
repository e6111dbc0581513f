// The audit record's body (schema v1, docs/audit-format.md), built from a request's context.
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
  | 'error';

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
  errorCode: number | null;
  latencyMs: number | null;
  args: AuditArgs | null;
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
