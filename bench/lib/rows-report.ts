// The row-bound bench's results (npm run bench -- --rows): their shape, the targets of issue 18 judged from them, and
// the markdown written beside the JSON.
import type { UnexpectedExit } from '../../tools/local-stack';
import type { BenchOptions } from './options';
import type { RowsDrain } from './rows-drain';
import type { RowsE2e } from './rows-e2e';
import {
  RAW_ROWS_MODES,
  rawEntryRate,
  rawPasses,
  rawRate,
  type RawRowsKind,
  type RawRowsMode,
  type RawRowsRun,
} from './rows-raw';
import type { Target } from './results';
import { fmt } from './stats';

/** What bench/results/<date>-rows[-mariadb][-quick].json holds. */
export interface RowsResults {
  date: string;
  startedAt: string;
  options: BenchOptions;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; redis: string; database: string };
  load: { start: number[]; end: number[]; uptimeStart: string; uptimeEnd: string };
  settings: Record<string, string>;
  raw: RawRowsRun[];
  drains: RowsDrain[];
  e2e: RowsE2e[];
  /** parts that failed, with the reason */
  errors: string[];
  unexpectedExits: UnexpectedExit[];
  elapsedS?: number;
  targets?: Target[];
}

const RSS_LIMIT_MB = 200;
const TARGET_REPLICAS = 2;
const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '–');
const times = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
const bulkLoad = (r: Pick<RowsResults, 'options'>): string =>
  r.options.database === 'mariadb' ? '`LOAD DATA`' : '`COPY`';
const label = (r: Pick<RowsResults, 'options'>): string =>
  r.options.database === 'mariadb' ? 'MariaDB' : 'PostgreSQL';

/** The targets of issue 18 item 3, each with what this run measured; `pass` null where it did not measure it. */
export function judgeRowsTargets(r: RowsResults): Target[] {
  const targets: Target[] = [];
  const add = (target: string, measured: string, pass: boolean | null): void => {
    targets.push({ target, measured, pass });
  };
  const at2 = (kind: RowsDrain['kind']) => r.drains.find((d) => d.kind === kind && d.replicas === TARGET_REPLICAS);
  const events = at2('events');
  const documents = at2('documents');
  const typed = at2('typed');
  const ok = (d: RowsDrain | undefined, test: (d: RowsDrain) => boolean): boolean | null =>
    d ? !d.timedOut && test(d) : null;
  const ratioTarget = (kind: 'events' | 'documents', factor: number, d: RowsDrain | undefined): void => {
    const ceiling = rawRate(r.raw, kind, 'multi-row');
    const prepared = rawRate(r.raw, kind, 'multi-row-prepared');
    const againstPrepared =
      d && prepared ? ` (against the prepared statement: ${times((d.rowsPerSec ?? 0) / prepared)})` : '';
    add(
      `${kind} drain, 2 sinks ≥ ${factor}× the raw multi-row ceiling of the run (rows/s)`,
      d && ceiling
        ? `${fmt(d.rowsPerSec)} / ${fmt(ceiling)} = ${times((d.rowsPerSec ?? 0) / ceiling)}${againstPrepared}`
        : 'not measured',
      d && ceiling ? ok(d, (x) => (x.rowsPerSec ?? 0) >= factor * ceiling) : null,
    );
  };
  if (r.options.database === 'postgres') {
    add(
      'events drain, 2 sinks ≥ 60,000 rows/s',
      events ? `${fmt(events.rowsPerSec)} rows/s` : 'not measured',
      ok(events, (d) => (d.rowsPerSec ?? 0) >= 60_000),
    );
    ratioTarget('events', 2, events);
    add(
      'documents drain (plain table), 2 sinks ≥ 50,000 rows/s',
      documents ? `${fmt(documents.rowsPerSec)} rows/s` : 'not measured',
      ok(documents, (d) => (d.rowsPerSec ?? 0) >= 50_000),
    );
  } else {
    ratioTarget('events', 1.5, events);
    ratioTarget('documents', 1.5, documents);
  }
  const typedCeiling = rawEntryRate(r.raw, 'typed', 'direct');
  add(
    'typed drain, 2 sinks ≥ 70% of the plain documents drain (entries/s)',
    typed && documents
      ? `${fmt(typed.entriesPerSec)} / ${fmt(documents.entriesPerSec)} = ` +
          pct((typed.entriesPerSec ?? 0) / (documents.entriesPerSec ?? NaN)) +
          (typedCeiling
            ? ` (the typed rows' raw ${bulkLoad(r)} ceiling: ${fmt(typedCeiling)} entries/s, ` +
              `${pct(typedCeiling / (documents.entriesPerSec ?? NaN))} of the plain drain)`
            : '')
      : 'not measured',
    typed && documents ? ok(typed, (t) => (t.entriesPerSec ?? 0) >= 0.7 * (documents.entriesPerSec ?? Infinity)) : null,
  );
  const e2eEvents = r.e2e.find((e) => e.kind === 'events' && e.replicas === 2);
  if (r.options.database === 'postgres') {
    add(
      'end to end, events in `_bulk` of 500, 2 sinks ≥ 35,000 events/s, every row landed',
      e2eEvents
        ? `${fmt(e2eEvents.rowsPerSec)} rows landed/s (${fmt(e2eEvents.acceptedPerSec)} accepted/s), ` +
            `${fmt(e2eEvents.rowsLanded)} of ${fmt(e2eEvents.items)} rows`
        : 'not measured',
      e2eEvents ? e2eEvents.everyRowLanded && !e2eEvents.timedOut && (e2eEvents.rowsPerSec ?? 0) >= 35_000 : null,
    );
  }
  const apps = r.drains.flatMap((d) => [...d.rss.sinksMb, d.rss.ingestMb]).filter((x): x is number => x !== null);
  add(
    `RSS of ingest and every sink < ${RSS_LIMIT_MB} MB after each drain`,
    apps.length ? `largest ${Math.max(...apps)} MB` : 'not measured',
    apps.length ? Math.max(...apps) < RSS_LIMIT_MB : null,
  );

  return targets;
}

/**
 * A raw ceiling's cell: the mean of its passes (before the kind's drains and after them), each pass's rate, and the
 * batch p50s; the typed kind in entries a second as well.
 */
function rawCell(runs: RawRowsRun[], kind: RawRowsKind, mode: RawRowsMode): string {
  const passes = rawPasses(runs, kind, mode);
  if (passes.length === 0) return '–';
  const entries = kind === 'typed' ? `${fmt(rawEntryRate(runs, kind, mode))} entries/s, ` : '';
  const [before, after] = passes;
  const each = after ? `before the drains ${fmt(before?.rowsPerSec)}, after ${fmt(after.rowsPerSec)}; ` : '';
  const p50s = passes.map((p) => p.batchMs.p50 ?? '–').join(' / ');

  return `${entries}${fmt(rawRate(runs, kind, mode))} rows/s (${each}batch p50 ${p50s} ms)`;
}

const list = (xs: (number | null)[]): string => xs.map((x) => (x === null ? '–' : String(x))).join(' / ');
const secs = (ms: number): string => (ms / 1000).toFixed(1);

/** The markdown report. */
export function rowsMarkdown(r: RowsResults): string {
  const db = label(r);
  const o = r.options;
  const steal = r.drains.reduce((n, d) => n + (d.cpu.stealS || 0), 0);
  const others = r.drains.reduce((n, d) => n + (d.cpu.otherS || 0), 0);
  const wall = r.drains.reduce((n, d) => n + (d.cpu.wallS || 0), 0);
  const lines = [
    `# Row-bound bench (issue 18), ${r.date}${o.quick ? ' (quick)' : ''}: ${db} ${r.machine.database}`,
    '',
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, Node.js ${r.machine.node}, Redis ` +
      `${r.machine.redis}. Load average at the start ${r.load.start.join(', ')}, at the end ${r.load.end.join(', ')}; ` +
      `host steal during the timed drains ${steal.toFixed(1)} s in all, and CPU seconds of other work on the machine ` +
      `(processes not of this run) ${others.toFixed(1)} s in ${wall.toFixed(1)} s of drains. Every entry is a first ` +
      'write of a unique id (every entry a row). ' +
      Object.entries(r.settings)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ') +
      '.',
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '| --- | --- | --- |',
    ...(r.targets ?? []).map(
      (t) => `| ${t.target} | ${t.measured} | ${t.pass === null ? '–' : t.pass ? 'yes' : '**no**'} |`,
    ),
    '',
    `## Raw ceilings: ${fmt(o.rowsRawRows)} rows, one client, batches of ${o.batchSize}, each batch its own commit`,
    '',
    ...(r.raw.some((x) => x.pass === 2)
      ? [
          "Each kind's ceilings are measured right before its drains and again right after them; the targets use " +
            'the mean of the two, shown first.',
          '',
        ]
      : []),
    o.database === 'mariadb'
      ? '| rows | multi-row `INSERT … ON DUPLICATE KEY UPDATE` (mysql2 sends the values in the text) | prepared | `LOAD DATA LOCAL INFILE` to staging + `INSERT … SELECT` | `LOAD DATA LOCAL INFILE` into the table |'
      : '| rows | multi-row `INSERT … ON CONFLICT`, the values in the text (as psql sends it) | the same prepared, values as parameters | `COPY` to staging + `INSERT … SELECT … ON CONFLICT` | `COPY` into the table |',
    '| --- | --- | --- | --- | --- |',
    ...(['events', 'documents', 'typed'] as const)
      .filter((kind) => r.raw.some((x) => x.kind === kind))
      .map(
        (kind) =>
          `| ${kind === 'typed' ? 'typed: state table and outputs, in entries (documents)' : kind} | ` +
          `${RAW_ROWS_MODES.map((mode) => rawCell(r.raw, kind, mode)).join(' | ')} |`,
      ),
    '',
    ...(r.raw.some((x) => x.kind === 'typed')
      ? [
          "The typed rows are projected before the pass (the transform and the outputs, by the collection's " +
            `projector) and written by ${bulkLoad(r)} into the collection's own tables, every table of a batch in one ` +
            'transaction: the most entries a second the database takes for the typed drain.',
          '',
        ]
      : []),
    `## Drains of ${fmt(o.entries)} first writes`,
    '',
    'Rows landed: every table of the collection counted after the drain (they were empty before it); the typed ' +
      'collection writes its state table, session_facts and a session_screens row for each element of `screens`. ' +
      'CPU in seconds a million rows landed; RSS in MB right after the drain (the database: its largest process).',
    '',
    '| collection | sinks | entries/s | rows/s | × multi-row | rows | batch (mean) | write p50 / p99 ms | ' +
      'CPU s/M rows: each sink | Redis | DB | RSS MB: sinks | ingest | Redis | DB | machine busy; others, steal s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.drains.map((d) => {
      const ceiling = d.kind === 'typed' ? null : rawRate(r.raw, d.kind, 'multi-row');

      return (
        `| ${d.kind} (${d.collection}) | ${d.replicas} | ${fmt(d.entriesPerSec)}${d.timedOut ? ' (timed out)' : ''} | ` +
        `${fmt(d.rowsPerSec)} | ${ceiling ? times((d.rowsPerSec ?? 0) / ceiling) : '–'} | ` +
        `${d.tables.map((t) => `${t.table} ${fmt(t.rows)}`).join(', ')} | ${d.meanBatchSize ?? '–'} | ` +
        `${d.batchWriteMs.p50 ?? '–'} / ${d.batchWriteMs.p99 ?? '–'} | ${list(d.cpuPerMillionRows.sinks)} | ` +
        `${d.cpuPerMillionRows.redis ?? '–'} | ${d.cpuPerMillionRows.database ?? '–'} | ${list(d.rss.sinksMb)} | ` +
        `${d.rss.ingestMb ?? '–'} | ${d.rss.redisMb ?? '–'} | ${d.rss.databaseMaxMb ?? '–'} | ` +
        `${d.cpu.machineBusyPct}%; ${d.cpu.otherS}, ${d.cpu.stealS} |`
      );
    }),
    '',
    `## End to end: \`_bulk\` of ${o.bulkOps} from ${o.rowsE2eClients} clients`,
    '',
    'Timed from the first request until every entry is acked (after its commit); every table of the collection counted ' +
      'then. CPU in seconds a million rows landed.',
    '',
    '| collection | sinks | items | accepted/s | rows landed/s | rows landed | accepted in s | landed in s | ' +
      'batch (mean) | CPU s/M rows: ingest | sinks | Redis | DB | RSS MB: ingest | sinks | machine busy; others, steal s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.e2e.map(
      (e) =>
        `| ${e.kind} (${e.collection}) | ${e.replicas} | ${fmt(e.items)} | ${fmt(e.acceptedPerSec)} | ` +
        `${fmt(e.rowsPerSec)} | ${e.tables.map((t) => `${t.table} ${fmt(t.rows)}`).join(', ')}` +
        `${e.everyRowLanded ? '' : ` (**not all**: ${fmt(e.rowsLanded)} of ${fmt(e.rowsExpected)})`} | ` +
        `${secs(e.acceptMs)} | ${secs(e.landMs)} | ${e.meanBatchSize ?? '–'} | ` +
        `${e.cpuPerMillionRows.ingest ?? '–'} | ${e.cpuPerMillionRows.sinks ?? '–'} | ${e.cpuPerMillionRows.redis ?? '–'} | ` +
        `${e.cpuPerMillionRows.database ?? '–'} | ${e.rss.ingestMb ?? '–'} | ${list(e.rss.sinksMb)} | ` +
        `${e.cpu.machineBusyPct}%; ${e.cpu.otherS}, ${e.cpu.stealS} |`,
    ),
    '',
    ...(r.errors.length ? [`Failed: ${r.errors.join('; ')}.`, ''] : []),
    `Elapsed ${r.elapsedS ?? '?'} s.${r.unexpectedExits.length ? ` Unexpected exits: ${JSON.stringify(r.unexpectedExits)}.` : ''}`,
    '',
  ];

  return lines.join('\n');
}
