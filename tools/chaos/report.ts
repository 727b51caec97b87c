// The chaos and soak reports as text.
import type { Verdict } from './check';
import { type ChaosReport, CLUSTER_PARTITIONS, type Memory, type Sample } from './runner';

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

/** Per master kill: what it lost, or that it lost nothing. */
function failoverLossLines({ lostByFailover }: Verdict): string[] {
  return lostByFailover.byFault.map(
    ({ fault, documentWrites, events }) =>
      `  ${fault}: ${documentWrites} acknowledged document writes and ${events} acknowledged events lost`,
  );
}

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The run's Redis, partitions and durability header, as the options say them. */
function layoutOf(report: ChaosReport): {
  cluster: boolean;
  sentinel: boolean;
  partitions: number | undefined;
  durability: string | undefined;
} {
  const options = report.options as { cluster?: boolean; sentinel?: boolean; partitions?: number; durability?: string };

  return {
    cluster: options.cluster === true,
    sentinel: options.sentinel === true,
    partitions: options.partitions,
    durability: options.durability,
  };
}

/**
 * What held, said plainly: the database equals Redis; every acknowledged write is in Redis and every acknowledged
 * event in the database, save what a master kill lost before replicating it (counted); nothing pending; the dead
 * letters are exactly the poison.
 */
function verdictLine(report: ChaosReport): string {
  const { verdict, faults } = report;
  if (verdict.mismatches > 0) {
    return (
      `verdict: ${count(verdict.mismatches, 'mismatch', 'mismatches')}: the database, Redis and the acknowledged ` +
      'writes disagree beyond what a killed master can lose of its memory writes'
    );
  }
  const lost = verdict.lostByFailover;
  const kills = count(lost.byFault.length, 'master kill');
  const exception =
    lost.byFault.length === 0
      ? ''
      : lost.documentWrites + lost.events === 0
        ? ` (the ${kills} lost nothing)`
        : `, save ${count(lost.documentWrites, 'document write')} and ${count(lost.events, 'event')} that ` +
          `${kills} acknowledged and had not yet replicated`;
  const graceful = [
    count(faults.injected['cluster-failover'] ?? 0, 'CLUSTER FAILOVER'),
    count(faults.injected.reshard ?? 0, 'reshard'),
  ];
  const lossless = layoutOf(report).cluster ? `; ${graceful.join(' and ')} lost nothing` : '';

  return (
    'verdict: the database equals Redis; every acknowledged write is in Redis and every acknowledged event in the ' +
    `database${exception}${lossless}; nothing is pending; the dead letters are the ` +
    `${count(report.poison.length, 'injected entry', 'injected entries')}, once each`
  );
}

function layoutLine(report: ChaosReport): string {
  const { cluster, sentinel, partitions, durability } = layoutOf(report);
  const redis = cluster
    ? ', on a Redis Cluster (3 masters, 3 replicas)'
    : sentinel
      ? ', on Redis Sentinel (a master, its replica, 3 Sentinels)'
      : '';
  const cut =
    partitions === undefined
      ? cluster
        ? ` with ${CLUSTER_PARTITIONS} partitions`
        : ''
      : ` with ${partitions} partitions`;

  return `${redis}${cut}${durability ? `, every write asking for Durability: ${durability}` : ''}`;
}

export function formatChaosReport(report: ChaosReport): string {
  const { verdict } = report;
  const injected = Object.entries(report.faults.injected)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  const { documents, events } = verdict;
  const lines = [
    '',
    `chaos run, seed ${report.seed}${layoutLine(report)}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    `  replay: ${report.replay} (same operations and fault schedule; their interleaving follows the clock)`,
    '',
    `operations: ${report.traffic.requests} requests in ${(report.sentMs / 1000).toFixed(1)} s; acknowledged ` +
      `${report.traffic.acknowledgedDocumentWrites} document writes and ${report.traffic.acknowledgedEvents} events`,
    `  by the durability level their answer named: ${
      Object.entries(report.traffic.acknowledgedByLevel ?? {})
        .map(([level, n]) => `${level} ${n}`)
        .join(', ') || 'none'
    }`,
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
    ...(verdict.lostByFailover.byFault.length
      ? [
          `lost by failover: ${verdict.lostByFailover.documentWrites} acknowledged document writes and ` +
            `${verdict.lostByFailover.events} acknowledged events (a killed master had not replicated them)`,
          ...failoverLossLines(verdict),
        ]
      : []),
    `mismatches: ${verdict.mismatches}${verdict.mismatches ? ` ${JSON.stringify(verdict.mismatchesByKind)}` : ''}`,
    ...verdict.examples.map((e) => `  ${e}`),
    verdictLine(report),
    '',
    `memory at start:    ${memoryLine(report.memory.start)}`,
    `memory at load end: ${memoryLine(report.memory.loadEnd)}`,
    `memory at end:      ${memoryLine(report.memory.end)}`,
    ...(report.failures.length ? ['', 'FAILURES:', ...report.failures.map((f) => `  ${f}`)] : []),
    ...(report.appOutput ? ['', 'the last lines of each app:', report.appOutput] : []),
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
