// The starter policy of SPEC §7 for one server, from the classification of its tools: reads allowed, ordinary writes
// rate-limited, dangerous tools held for approval, poisoned tools hidden. A PolicyLayer file a person then edits.
import type { Category } from '../policy/types.js';
import type { Classification } from './types.js';

export interface ClassifiedTool {
  name: string;
  classification: Classification;
}

type Entry = Record<string, unknown>;

/** Ordinary writes: 30 a minute per grant. Messages to people: 10 an hour per grant, and a person approves each. */
const WRITE_LIMIT = { max: 30, window: '1m', per: 'grant' };

/** What each category gets (SPEC §7 names read, write, destructive, financial, credential; the rest is decided here). */
export const STARTER_ACTIONS: Readonly<Record<Category, Entry>> = {
  read: { action: 'allow' },
  write: { action: 'allow', rate_limit: WRITE_LIMIT },
  other: { action: 'allow', rate_limit: WRITE_LIMIT },
  destructive: { action: 'require_approval' },
  execute: { action: 'require_approval' },
  financial: { action: 'require_approval' },
  credential: { action: 'require_approval' },
  communication: { action: 'require_approval' },
};

export function starterPolicy(server: string, tools: readonly ClassifiedTool[], writtenAt: string): Entry {
  const hide: string[] = [];
  const entries: Record<string, Entry> = {};
  for (const t of [...tools].sort((a, b) => a.name.localeCompare(b.name))) {
    const c = t.classification;
    if (c.signals.some((s) => s.kind === 'tool_poisoning')) {
      hide.push(t.name);
      continue;
    }
    entries[t.name] = {
      ...STARTER_ACTIONS[c.category],
      description: `${c.category}/${c.risk}: ${c.rationale}`.slice(0, 300),
    };
  }
  return {
    version: '1',
    description: `Starter policy for ${server}, written by warden scan on ${writtenAt} from ${tools.length} tools. Review it: reads are allowed, writes rate-limited, destructive, execute, financial, credential and communication tools need approval, poisoned tools are hidden, anything else is denied.`,
    default: 'deny',
    hide,
    tools: entries,
    // Tools the server adds later are not listed above: their classification decides (other ones are denied).
    categories: {
      read: 'allow',
      write: 'require_approval',
      destructive: 'require_approval',
      execute: 'require_approval',
      financial: 'require_approval',
      credential: 'require_approval',
      communication: 'require_approval',
    },
  };
}
