// The run's chart as hand-written SVG (no dependency): sink throughput by replica count against the raw database
// ceiling and the 50k entries/s target, and end-to-end lag (p50/p99 per second) over the steady-load run.
import type { E2eSecond } from './e2e-phase';
import { type BenchResults, upsertCeiling } from './results';

const W = 1000;
const H = 380;
const PANEL = { w: 420, h: 270, top: 60 };
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ENTITIES[c] ?? c);
const num = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A round axis maximum at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));

  return [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p;
}

function yAxis(x0: number, max: number, label: (v: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const y = PANEL.top + PANEL.h - (PANEL.h * i) / 5;
    out.push(`<line x1="${x0}" x2="${x0 + PANEL.w}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${esc(label(v))}</text>`);
  }

  return out.join('');
}

/** The SVG document of a run's chart. */
export function chartSvg(r: BenchResults): string {
  const parts: string[] = [];
  // Left: throughput by replica count.
  const x0 = 80;
  // The mapped drain's rows are those of all its tables (state and outputs).
  const runs = [
    ...(r.sink?.drains ?? []),
    ...(r.mapped?.control?.drains ?? []),
    ...(r.mapped?.drains ?? []).map((x) => ({ ...x, rowsPerSec: x.allTablesRowsPerSec })),
  ];
  const ceiling = upsertCeiling(r) ?? 0;
  const max = niceMax(
    Math.max(50_000, ceiling, ...runs.map((x) => Math.max(x.entriesPerSec ?? 0, x.rowsPerSec ?? 0))) * 1.05,
  );
  const y = (v: number): number => PANEL.top + PANEL.h - (PANEL.h * v) / max;
  const rounds = r.options.sinkRounds;
  parts.push(
    `<text x="${x0}" y="40" class="title">Sink drain throughput by replica count${rounds > 1 ? ` (mean of ${rounds} rounds)` : ''}</text>`,
  );
  parts.push(yAxis(x0, max, (v) => (v >= 1000 ? `${Math.round(v / 1000)}k` : String(v))));
  const slot = PANEL.w / Math.max(1, runs.length);
  runs.forEach((x, i) => {
    const entries = x.entriesPerSec ?? 0;
    const rows = x.rowsPerSec ?? 0;
    const cx = x0 + slot * i + slot / 2;
    const bw = Math.min(28, slot / 3);
    parts.push(
      `<rect x="${cx - bw - 2}" y="${y(entries)}" width="${bw}" height="${PANEL.top + PANEL.h - y(entries)}" fill="#2563eb"/>`,
    );
    parts.push(
      `<rect x="${cx + 2}" y="${y(rows)}" width="${bw}" height="${PANEL.top + PANEL.h - y(rows)}" fill="#93c5fd"/>`,
    );
    parts.push(
      `<text x="${cx}" y="${PANEL.top + PANEL.h + 16}" text-anchor="middle">${x.replicas} replica${x.replicas > 1 ? 's' : ''}${x.template === 'uniform' ? '' : ` (${x.template})`}</text>`,
    );
    parts.push(
      `<text x="${cx}" y="${y(Math.max(entries, rows)) - 4}" text-anchor="middle" class="small">${num(entries)}</text>`,
    );
  });
  const hline = (v: number, color: string, text: string): void => {
    if (!(v > 0)) return;
    parts.push(
      `<line x1="${x0}" x2="${x0 + PANEL.w}" y1="${y(v)}" y2="${y(v)}" stroke="${color}" stroke-dasharray="6 4" stroke-width="1.5"/>`,
    );
    parts.push(`<text x="${x0 + 4}" y="${y(v) - 4}" fill="${color}" class="small">${esc(text)}</text>`);
  };
  hline(ceiling, '#dc2626', `raw upsert ceiling ${num(ceiling)} rows/s`);
  hline(50_000, '#16a34a', 'target 50,000 entries/s');
  parts.push(
    `<rect x="${x0}" y="${PANEL.top + PANEL.h + 26}" width="10" height="10" fill="#2563eb"/><text x="${x0 + 14}" y="${PANEL.top + PANEL.h + 35}">entries/s</text>`,
  );
  parts.push(
    `<rect x="${x0 + 90}" y="${PANEL.top + PANEL.h + 26}" width="10" height="10" fill="#93c5fd"/><text x="${x0 + 104}" y="${PANEL.top + PANEL.h + 35}">rows/s</text>`,
  );

  // Right: lag over time.
  const x1 = 560;
  const series = r.e2e?.series ?? [];
  parts.push(`<text x="${x1}" y="40" class="title">End-to-end lag per second (ms), steady load</text>`);
  const lagMax = niceMax(Math.max(250, ...series.map((s) => s.lagP99Ms ?? 0)) * 1.05);
  const tMax = Math.max(1, ...series.map((s) => s.t));
  const ly = (v: number): number => PANEL.top + PANEL.h - (PANEL.h * Math.min(v, lagMax)) / lagMax;
  const lx = (t: number): number => x1 + (PANEL.w * t) / tMax;
  parts.push(yAxis(x1, lagMax, (v) => String(Math.round(v))));
  for (let i = 0; i <= 4; i++) {
    const t = (tMax * i) / 4;
    parts.push(`<text x="${lx(t)}" y="${PANEL.top + PANEL.h + 16}" text-anchor="middle">${Math.round(t)} s</text>`);
  }
  const path = (key: 'lagP50Ms' | 'lagP99Ms', color: string): void => {
    const pts = series.flatMap((s: E2eSecond) => {
      const v = s[key];

      return v === null ? [] : [`${lx(s.t).toFixed(1)},${ly(v).toFixed(1)}`];
    });
    if (pts.length) parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
  };
  path('lagP50Ms', '#2563eb');
  path('lagP99Ms', '#f59e0b');
  parts.push(
    `<line x1="${x1}" x2="${x1 + PANEL.w}" y1="${ly(250)}" y2="${ly(250)}" stroke="#dc2626" stroke-dasharray="6 4"/>`,
  );
  parts.push(
    `<text x="${x1 + PANEL.w - 4}" y="${ly(250) - 4}" text-anchor="end" fill="#dc2626" class="small">target p99 250 ms</text>`,
  );
  parts.push(
    `<rect x="${x1}" y="${PANEL.top + PANEL.h + 26}" width="10" height="10" fill="#2563eb"/><text x="${x1 + 14}" y="${PANEL.top + PANEL.h + 35}">p50</text>`,
  );
  parts.push(
    `<rect x="${x1 + 60}" y="${PANEL.top + PANEL.h + 26}" width="10" height="10" fill="#f59e0b"/><text x="${x1 + 74}" y="${PANEL.top + PANEL.h + 35}">p99 (histogram buckets, interpolated)</text>`,
  );
  if (series.length === 0) {
    parts.push(`<text x="${x1 + PANEL.w / 2}" y="${PANEL.top + PANEL.h / 2}" text-anchor="middle">not run</text>`);
  }
  if (runs.length === 0) {
    parts.push(`<text x="${x0 + PANEL.w / 2}" y="${PANEL.top + PANEL.h / 2}" text-anchor="middle">not run</text>`);
  }

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<style>.title{font-size:15px;font-weight:bold}.small{font-size:11px}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${W / 2}" y="18" text-anchor="middle" class="small" fill="#6b7280">Spillway bench ${esc(r.date)}${r.options.quick ? ' (--quick)' : ''}: ${esc(r.machine.cpus)} cores, load ${esc(r.load.start[0])} → ${esc(r.load.end[0])}</text>
${parts.join('\n')}
</svg>
`;
}
