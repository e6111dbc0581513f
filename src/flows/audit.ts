// The `flow` field of an audit record (docs/audit-format.md): what the flow step decided and recorded. Labels and rule
// pointers only, never a data value.

export interface FlowAudit {
  /** The conversation key (docs/flows.md): `sub:<issuer> <subject>`, `grant:<id>`, `session:<id>` or `anonymous`. */
  conversation: string;
  /** The called tool's labels. */
  labels: string[];
  /** The labels the conversation had seen when the call was decided. */
  seen: string[];
  /** The flow rule that applied (`/flows/rules/<i>`), if any. */
  rule?: string;
  /** What that rule does. */
  action?: 'deny' | 'hold';
  /** The flows block is in shadow mode: the rule was recorded, not enforced. */
  shadow?: boolean;
  /** Labels this call's result added to the conversation (the tool's, and result guards' flags). */
  added?: string[];
  /** The conversation state could not be read or written (`state_fail_mode` decided). */
  stateError?: boolean;
}
