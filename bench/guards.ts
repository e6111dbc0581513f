// Result guard cost (secrets + pii + injection, all on, flag) per call and per KB on 1 KB, 100 KB and 5 MB results,
// as text content and as structuredContent. One core; results are rebuilt per call (masking changes them in place).
import { scanResult } from '../src/guards/scan.js';

const settings = { actions: { secrets: 'flag', pii: 'flag', injection: 'flag' } as const, shadow: false };
const LINE =
  'order 48213 shipped to the Berlin warehouse on 2024-03-15; tracking id 7f3a9c21e4b8 status ok, weight 2.4 kg.\n';

function textOf(bytes: number): string {
  let s = '';
  while (s.length < bytes) s += LINE;
  return s.slice(0, bytes);
}
function structured(bytes: number): Record<string, unknown> {
  const rows: Array<Record<string, unknown>> = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const row = { id: i, note: LINE.slice(0, 80), ok: true, weight: 2.4 };
    size += 110;
    rows.push(row);
  }
  return { rows };
}

function bench(name: string, bytes: number, make: () => unknown): void {
  const iterations = Math.max(3, Math.min(20_000, Math.floor(50_000_000 / bytes)));
  const inputs = Array.from({ length: Math.min(iterations, 200) }, make);
  for (let i = 0; i < Math.min(iterations, 200); i++) scanResult(inputs[i % inputs.length], settings);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) scanResult(inputs[i % inputs.length], settings);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / iterations;
  console.log(
    `${name.padEnd(26)} ${ms.toFixed(4).padStart(10)} ms/call ${((ms / bytes) * 1024).toFixed(5).padStart(10)} ms/KB`,
  );
}

for (const [label, bytes] of [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
  ['5 MB', 5 * 1024 * 1024],
] as const) {
  const text = textOf(bytes);
  bench(`text ${label}`, bytes, () => ({ content: [{ type: 'text', text }] }));
  const sc = structured(bytes);
  bench(`structuredContent ${label}`, bytes, () => ({ content: [], structuredContent: sc }));
}
