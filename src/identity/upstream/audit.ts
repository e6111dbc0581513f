// The audit entry of an upstream credential's lifecycle (linked by a user's OAuth flow, revoked): the gateway and
// `warden upstream-tokens` write the same record.
import { randomUUID } from 'node:crypto';
import type { NewAuditEntry } from '../../audit/chain.js';
import { eventBody } from '../../audit/record.js';
import type { FlowEvent } from './oauth-flow.js';

export function flowEventEntry(e: FlowEvent): NewAuditEntry {
  return {
    time: new Date().toISOString(),
    kind: 'event',
    requestKey: randomUUID(),
    body: eventBody(e.event, {
      grant: null,
      actor: e.actor,
      reason: e.reason,
      server: e.server,
      subject: e.subject,
    }) as unknown as Record<string, unknown>,
  };
}
