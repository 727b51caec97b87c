// The chaos and soak reports as text.
import type { ChaosReport, Memory, Sample } from './runner';

const table = (rows: readonly (readonly (string | number)[])[]): string => {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));

  return rows
    .map((r) =>
      r
        .map((cell, i) => String(cell).padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

function trafficTable(byKind: Record<string, Record<string, number>>): string {
  const statuses = [...new Set(Object.values(byKind).flatMap((row) => Object.keys(row)))].sort();

  return table([
    ['request', ...statuses],
    ...Object.entries(byKind).map(([kind, row]) => [kind, ...statuses.map((s) => row[s] ?? 0)]),
  ]);
}

const memoryLine = (m: Memory): string => {
  const sinks = Object.entries(m.sinks)
    .map(([n, v]) => `${n} ${v ?? '-'} MB`)
    .join(', ');

  return `ingest ${m.ingest ?? '-'} MB; sinks ${sinks}`;
};

export function formatChaosReport(report: ChaosReport): string {
  const { verdict } = report;
  const injected = Object.entries(report.faults.injected)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  const { documents, events } = verdict;
  const lines = [
    '',
    `chaos run, seed ${report.seed}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    `  replay: ${report.replay} (same operations and fault schedule; their interleaving follows the clock)`,
    '',
    `operations: ${report.traffic.requests} requests in ${(report.sentMs / 1000).toFixed(1)} s; acknowledged ` +
      `${report.traffic.acknowledgedDocumentWrites} document writes and ${report.traffic.acknowledgedEvents} events`,
    trafficTable(report.traffic.byKind).replace(/^/gm, '  '),
    '',
    `faults: ${injected || 'none'}`,
    ...report.faults.timeline.map(
      (f) => `  ${String(f.at).padStart(6)} s  ${f.kind.padEnd(18)} ${f.detail} (${f.ms} ms)`,
    ),
    `poison entries injected: ${report.poison.length} (${report.poison.map((p) => p.why).join(', ') || 'none'})`,
    '',
    `drain: ${report.drainMs} ms after the traffic stopped; backlog peak ${report.backlog.max} entries`,
    `rows checked: ${documents.ids} document ids (${documents.rows} rows; ${documents.exact} equal to the ` +
      `acknowledged writes, ${documents.deleted} deleted and rowless, ${documents.ambiguous} settled by an ` +
      `unanswered request), ${events.rows} event rows for ${events.acknowledged} acknowledged events ` +
      `(${events.unanswered} unanswered)`,
    `pending at the end: ${Object.entries(verdict.pending)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ')}`,
    `dead letters: ${verdict.deadLetters.length} (${verdict.deadLetters.map((d) => d.reason).join('; ') || 'none'})`,
    `mismatches: ${verdict.mismatches}${verdict.mismatches ? ` ${JSON.stringify(verdict.mismatchesByKind)}` : ''}`,
    ...verdict.examples.map((e) => `  ${e}`),
    '',
    `memory at start:    ${memoryLine(report.memory.start)}`,
    `memory at load end: ${memoryLine(report.memory.loadEnd)}`,
    `memory at end:      ${memoryLine(report.memory.end)}`,
    ...(report.failures.length ? ['', 'FAILURES:', ...report.failures.map((f) => `  ${f}`)] : []),
    '',
  ];

  return lines.join('\n');
}

/** Memory and backlog over a soak, one line per sample interval. */
export function formatSoakSeries(samples: readonly Sample[], everySeconds: number): string {
  const picked = samples.filter((s) => s.t % everySeconds === 0);

  return table([
    ['t (s)', 'backlog', 'ingest RSS MB', 'sink RSS MB (max)'],
    ...picked.map((s) => [s.t, s.backlog, s.ingestMb ?? '-', s.sinkMb ?? '-']),
  ]);
}
