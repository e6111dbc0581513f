// The shapes of risk classification (SPEC §7): the tool definition it reads and the classification it returns.
import type { Category } from '../policy/types.js';

export const RISKS = ['low', 'medium', 'high', 'critical'] as const;
export type Risk = (typeof RISKS)[number];

export const SIGNAL_KINDS = [
  'handles_credentials',
  'open_world',
  'arbitrary_code',
  'file_system',
  'bulk_operation',
  'pii',
  'irreversible',
  'tool_poisoning',
  'shadowing',
  'definition_changed',
] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

export interface Signal {
  kind: SignalKind;
  /** What in the definition raised the signal, quoted or named, so a person can check it. */
  evidence: string;
}

/** An MCP Tool object as a server lists it. Everything but the name is optional and untrusted. */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: {
    title?: string;
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface Classification {
  category: Category;
  risk: Risk;
  signals: Signal[];
  /** 0..1: how clearly the definition named what the tool does. */
  confidence: number;
  rationale: string;
}

export function riskRank(risk: Risk): number {
  return RISKS.indexOf(risk);
}

export function maxRisk(a: Risk, b: Risk): Risk {
  return riskRank(a) >= riskRank(b) ? a : b;
}
