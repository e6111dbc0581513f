// Durations as config and policy files write them: a number of seconds, or "500ms", "30s", "5m", "1h", "2d".

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration that the schema already accepted. */
export function durationMs(v: number | string): number {
  if (typeof v === 'number') return v * 1000;
  const m = DURATION_PATTERN.exec(v);
  if (!m) throw new Error(`invalid duration ${v}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
