// The fuzz report as text: the seed, requests by category and status, the pass/fail line of each check.
import type { FuzzReport } from './runner';

const mib = (bytes: number | undefined): string =>
  bytes === undefined ? '?' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export function formatFuzzReport(report: FuzzReport): string {
  const { options: o, figures: f } = report;
  const sendingS = (f.sendingMs ?? 0) / 1000;
  const lines = [
    `fuzz report: seed ${report.seed}, ${o.requests === undefined ? `${o.duration} s` : `${o.requests} requests`}, ` +
      `concurrency ${o.concurrency}, ${o.replicas} sinks, ${o.ids} valid ids, ${o.slowClients} slow clients`,
    `${report.sent} requests in ${sendingS.toFixed(1)} s (${Math.round(report.sent / ((f.sendingMs || 1) / 1000))}/s); ` +
      `acknowledged ${report.acknowledged.documentWrites} document writes and ${report.acknowledged.events} events; ` +
      `drained in ${f.drainMs ?? '?'} ms; ${f.rows ?? '?'} document rows, ${f.events ?? '?'} event rows; ` +
      `ingest RSS ${mib(report.rss.ingestStart)} -> ${mib(report.rss.ingestEnd)}`,
    '',
    'category                     kind     sent  answers',
  ];
  for (const [name, stats] of Object.entries(report.categories)) {
    const answers = Object.entries(stats.statuses)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
    const kind = (stats.valid ? 'valid' : 'hostile').padEnd(8);
    lines.push(`${name.padEnd(28)} ${kind} ${String(stats.sent).padStart(5)}  ${answers}`);
  }
  lines.push('');
  for (const check of report.checks) lines.push(`${check.passed ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`);
  if (report.examples.length > 0) {
    lines.push('', 'first violations:');
    for (const e of report.examples) {
      lines.push(`  [${e.category}] ${e.request} -> ${e.answer.replace(/\s+/g, ' ')} (${e.problem})`);
    }
  }
  lines.push('', `${report.passed ? 'PASSED' : 'FAILED'} (seed ${report.seed}; replay with --seed ${report.seed})`);

  return lines.join('\n');
}
