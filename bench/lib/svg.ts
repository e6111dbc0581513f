// Hand-drawn SVG of latency percentile curves (HdrHistogram style: log percentile axis, log latency axis in ms).
import { percentile } from './stats.js';

export interface Series {
  name: string;
  samples: readonly number[];
}

const NAMED_COLORS: Record<string, string> = {
  direct: '#444444',
  'direct-json': '#9a9a9a',
  warden: '#1f6fd1',
  supergateway: '#e07b00',
  'mcp-proxy': '#2a9d3a',
};
const COLORS = ['#b03aa8', '#c0392b', '#17a2b8', '#8c6d1f', '#1f6fd1', '#2a9d3a', '#e07b00', '#444444'];
const WIDTH = 900;
const HEIGHT = 520;
const M = { left: 70, right: 220, top: 56, bottom: 62 };
/** The percentile axis runs from 0 % to 99.9 %: x = -log10(1 - q) in [0, 3]. */
const X_MAX = 3;
const POINTS = 240;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 1-2-5 ticks covering [lo, hi] (both > 0). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)) && out.length < 40; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(Number(v.toPrecision(3)));
    }
  }
  return out;
}

/** Renders one SVG document; `subtitle` carries the run date and machine. */
export function latencySvg(series: readonly Series[], title: string, subtitle: string): string {
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const sortedAll = series.map((s) => ({ name: s.name, sorted: [...s.samples].sort((a, b) => a - b) }));
  const finite = (values: number[]): number[] => values.filter((v) => Number.isFinite(v) && v > 0);
  const yTop = Math.max(0.1, ...finite(sortedAll.map((s) => percentile(s.sorted, 99.9)))) * 1.15;
  const yBottom = Math.min(yTop / 10, ...finite(sortedAll.map((s) => s.sorted[0] ?? Number.NaN))) / 1.15;
  const logSpan = Math.log10(yTop) - Math.log10(yBottom);
  const xPix = (x: number): number => M.left + (x / X_MAX) * plotW;
  const yPix = (ms: number): number => {
    const clamped = Math.min(Math.max(ms, yBottom), yTop);
    return M.top + plotH - ((Math.log10(clamped) - Math.log10(yBottom)) / logSpan) * plotH;
  };
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${M.left}" y="42" fill="#555555">${esc(subtitle)}</text>`,
  );
  // Y grid and labels.
  for (const v of logTicks(yBottom, yTop)) {
    const y = yPix(v).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${M.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${v}</text>`,
    );
  }
  // X grid at chosen percentiles.
  const ticks: Array<[number, string]> = [
    [0, '0%'],
    [50, '50%'],
    [90, '90%'],
    [99, '99%'],
    [99.9, '99.9%'],
  ];
  for (const [q, label] of ticks) {
    const x = xPix(-Math.log10(1 - q / 100)).toFixed(1);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + plotH}" stroke="#e4e4e4"/>`,
      `<text x="${x}" y="${M.top + plotH + 18}" text-anchor="middle">${label}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888888"/>`,
    `<text x="${M.left + plotW / 2}" y="${HEIGHT - 16}" text-anchor="middle">percentile (log scale of 1/(1−q))</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">tools/call latency (ms, log scale)</text>`,
  );
  // Curves and legend.
  sortedAll.forEach((s, i) => {
    if (s.sorted.length === 0) return;
    const color = NAMED_COLORS[s.name] ?? COLORS[i % COLORS.length]!;
    const pts: string[] = [];
    for (let k = 0; k <= POINTS; k++) {
      const x = (k / POINTS) * X_MAX;
      const q = (1 - 10 ** -x) * 100;
      pts.push(`${xPix(x).toFixed(1)},${yPix(percentile(s.sorted, Math.max(q, 0.0001))).toFixed(1)}`);
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    const ly = M.top + 14 + i * 22;
    const lx = M.left + plotW + 16;
    const p50 = percentile(s.sorted, 50);
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(s.name)} (p50 ${p50.toFixed(2)})</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export interface Curve {
  name: string;
  /** [x, y] points, x ascending; both > 0 (log axes). */
  points: ReadonlyArray<readonly [number, number]>;
}

/** A log-log line chart of scaling curves (same look as the latency chart): one line with markers per series. */
export function curveSvg(
  curves: readonly Curve[],
  title: string,
  subtitle: string,
  xLabel: string,
  yLabel: string,
): string {
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const all = curves.flatMap((c) => c.points).filter(([x, y]) => x > 0 && y > 0);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xLo = Math.min(...xs) / 1.5;
  const xHi = Math.max(...xs, xLo * 10) * 1.5;
  const yLo = Math.min(...ys, 1) / 1.5;
  const yHi = Math.max(...ys, yLo * 10) * 1.5;
  const lx = (v: number): number => Math.log10(v);
  const xPix = (v: number): number => M.left + ((lx(v) - lx(xLo)) / (lx(xHi) - lx(xLo) || 1)) * plotW;
  const yPix = (v: number): number =>
    M.top + plotH - ((lx(Math.min(Math.max(v, yLo), yHi)) - lx(yLo)) / (lx(yHi) - lx(yLo))) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${M.left}" y="42" fill="#555555">${esc(subtitle)}</text>`,
  );
  const yTicks = logTicks(yLo, yHi);
  for (const v of yTicks.filter((_, i) => yTicks.length <= 12 || i % 3 === 0)) {
    const y = yPix(v).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${M.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${v}</text>`,
    );
  }
  for (const v of [...new Set(xs)].sort((a, b) => a - b)) {
    const x = xPix(v).toFixed(1);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + plotH}" stroke="#e4e4e4"/>`,
      `<text x="${x}" y="${M.top + plotH + 18}" text-anchor="middle">${v.toLocaleString('en-US')}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888888"/>`,
    `<text x="${M.left + plotW / 2}" y="${HEIGHT - 16}" text-anchor="middle">${esc(xLabel)} (log scale)</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)} (log scale)</text>`,
  );
  curves.forEach((c, i) => {
    const pts = c.points.filter(([x, y]) => x > 0 && y > 0);
    if (pts.length === 0) return;
    const color = COLORS[i % COLORS.length]!;
    const coords = pts.map(([x, y]) => `${xPix(x).toFixed(1)},${yPix(y).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${coords.join(' ')}"/>`);
    for (const p of coords) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`);
    }
    const ly = M.top + 14 + i * 22;
    const legendX = M.left + plotW + 16;
    out.push(
      `<line x1="${legendX}" x2="${legendX + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${legendX + 28}" y="${ly}" dominant-baseline="middle">${esc(c.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
