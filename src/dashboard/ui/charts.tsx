// Small SVG charts drawn by hand: stacked bars of calls per minute by decision, and latency lines.
import type { Minute } from './api.js';

export const DECISION_ORDER = [
  'allowed',
  'approved',
  'approval_pending',
  'denied',
  'hidden',
  'rate_limited',
  'rejected',
  'expired',
  'error',
];

const W = 600;
const H = 180;
const PAD = { left: 46, right: 12, top: 8, bottom: 22 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Milliseconds for people: 0.42 ms, 12.3 ms, 870 ms, 2.4 s. */
export function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function Axis({ max, format }: { max: number; format: (v: number) => string }) {
  const ticks = [0, max / 2, max];
  return (
    <g class="axis">
      {ticks.map((t) => {
        const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - t / max);
        return (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
            <text x={PAD.left - 4} y={y + 4} text-anchor="end">
              {format(t)}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function XLabels({ minutes }: { minutes: Minute[] }) {
  const step = (W - PAD.left - PAD.right) / minutes.length;
  return (
    <g class="axis">
      {minutes.map((m, i) =>
        i % 10 === 0 || i === minutes.length - 1 ? (
          <text
            key={m.time}
            x={PAD.left + step * (i + 0.5)}
            y={H - 6}
            text-anchor={i === minutes.length - 1 ? 'end' : 'middle'}
          >
            {clock(m.time)}
          </text>
        ) : null,
      )}
    </g>
  );
}

export function CallsChart({ minutes }: { minutes: Minute[] }) {
  const max = niceMax(Math.max(0, ...minutes.map((m) => m.calls)));
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(1, minutes.length);
  const seen = DECISION_ORDER.filter((d) => minutes.some((m) => (m.decisions[d] ?? 0) > 0));
  const total = minutes.reduce((n, m) => n + m.calls, 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Tool calls per minute by decision over the last ${minutes.length} minutes: ${total} in all`}
      >
        <Axis max={max} format={(t) => (Number.isInteger(t) ? String(t) : t.toFixed(1))} />
        {minutes.map((m, i) => {
          let y = PAD.top + plotH;
          return (
            <g key={m.time}>
              {DECISION_ORDER.map((d) => {
                const n = m.decisions[d] ?? 0;
                if (n === 0) return null;
                const h = (n / max) * plotH;
                y -= h;
                return (
                  <rect
                    key={d}
                    class={`d-${d}`}
                    x={PAD.left + step * i + 1}
                    y={y}
                    width={Math.max(1, step - 2)}
                    height={h}
                  >
                    <title>{`${clock(m.time)} ${d}: ${n}`}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
        <XLabels minutes={minutes} />
      </svg>
      <figcaption>
        Calls per minute by decision
        <ul class="legend">
          {seen.map((d) => (
            <li key={d}>
              <span class={`swatch d-${d}`} aria-hidden="true" /> {d.replace('_', ' ')}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

export function LatencyChart({ minutes }: { minutes: Minute[] }) {
  const max = niceMax(Math.max(0, ...minutes.map((m) => m.p99Ms ?? 0)));
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(1, minutes.length);
  const line = (pick: (m: Minute) => number | null) =>
    minutes
      .map((m, i) => {
        const v = pick(m);
        return v === null ? '' : `${PAD.left + step * (i + 0.5)},${PAD.top + plotH * (1 - v / max)}`;
      })
      .filter((p) => p !== '')
      .join(' ');
  const last = [...minutes].reverse().find((m) => m.p50Ms !== null);
  const dots = (pick: (m: Minute) => number | null, cls: string) =>
    minutes.map((m, i) => {
      const v = pick(m);
      return v === null ? null : (
        <circle
          key={m.time}
          class={`dot ${cls}`}
          r={3}
          cx={PAD.left + step * (i + 0.5)}
          cy={PAD.top + plotH * (1 - v / max)}
        >
          <title>{`${clock(m.time)} ${cls}: ${ms(v)}`}</title>
        </circle>
      );
    });
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Tool call latency per minute: latest p50 ${last?.p50Ms == null ? '-' : ms(last.p50Ms)}, p99 ${last?.p99Ms == null ? '-' : ms(last.p99Ms)}`}
      >
        <Axis max={max} format={(t) => (t === 0 ? '0' : ms(t))} />
        <polyline class="line p99" points={line((m) => m.p99Ms)} />
        <polyline class="line p50" points={line((m) => m.p50Ms)} />
        {dots((m) => m.p99Ms, 'p99')}
        {dots((m) => m.p50Ms, 'p50')}
        <XLabels minutes={minutes} />
      </svg>
      <figcaption>
        Latency per minute
        <ul class="legend">
          <li>
            <span class="swatch p50" aria-hidden="true" /> p50
          </li>
          <li>
            <span class="swatch p99" aria-hidden="true" /> p99
          </li>
        </ul>
      </figcaption>
    </figure>
  );
}
