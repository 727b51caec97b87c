// The targets of issue 4, judged from a run's figures, and the markdown tables printed and written at the end.
import type { CpuBreakdown } from './cpu';
import { costliestCommands } from './redis-commands';
import { type BenchResults, databaseLabel, databaseVersion, type Target, upsertCeiling } from './results';
import { type DrainMean, drainName, replicasAndRound, type SinkRun } from './sink-phase';
import { fmt, mb } from './stats';

const RSS_LIMIT_MB = 200;
const MAPPED_SHARE = 0.7;
const REDIS_COMMAND_COLUMNS = 6;
const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(x * 100)}%`;

/** The targets, each with what this run measured; `pass` null where it did not measure it. */
export function judgeTargets(r: BenchResults): Target[] {
  const targets: Target[] = [];
  const add = (target: string, measured: string, pass: boolean | null): void => {
    targets.push({ target, measured, pass });
  };
  const ceiling = upsertCeiling(r);
  // Each replica count's drains taken together (the mean of their rounds).
  const drains = r.sink?.drains ?? [];
  const uniform = drains.filter((x) => x.template === 'uniform');
  const two = uniform.find((x) => x.replicas === 2);
  const twoRate = two?.entriesPerSec ?? 0;
  // The drain is measured in entries settled a second: the sink writes only the entries Redis holds no newer version
  // of, so the rows it writes are fewer than the changes it applies, and rows/s alone would reward writing more.
  const ceilingTarget =
    `sink drain, 2 replicas ≥ 80% of raw multi-row upsert ceiling${r.options.database === 'mariadb' ? ' (MariaDB)' : ''} ` +
    '(entries/s vs ceiling rows/s)';
  if (two && ceiling) {
    add(
      ceilingTarget,
      `${fmt(two.entriesPerSec)} / ${fmt(ceiling)} = ${pct(twoRate / ceiling)}`,
      twoRate >= 0.8 * ceiling,
    );
  } else add(ceilingTarget, 'not measured', null);
  add(
    'sink drain, 2 replicas ≥ 50,000 entries/s',
    two ? `${fmt(two.entriesPerSec)} entries/s` : 'not measured',
    two ? twoRate >= 50_000 && !two.timedOut : null,
  );
  if (uniform.length > 1) {
    const sorted = [...uniform].sort((a, b) => a.replicas - b.replicas);
    const slower = sorted.slice(1).filter((x, i) => (x.entriesPerSec ?? 0) < 0.95 * (sorted[i]?.entriesPerSec ?? 0));
    add(
      'more replicas never slower than fewer (5% noise allowed)',
      sorted
        .map(
          (x) =>
            `${x.replicas}: ${fmt(x.entriesPerSec)}` +
            `${x.roundsEntriesPerSec.length > 1 ? ` (${x.roundsEntriesPerSec.map(fmt).join(' and ')})` : ''}`,
        )
        .join(', '),
      slower.length === 0,
    );
  } else add('more replicas never slower than fewer (5% noise allowed)', 'not measured', null);
  const bulk = r.ingest?.bulk.opsPerSec;
  // The ceiling is the faster of the two batched ways to run the script: pipelines of one-document calls, or many
  // documents a call (as `_bulk` sends them).
  const luaBatch = Math.max(r.raw?.redis.batch.opsPerSec ?? 0, r.raw?.redis.manyPerCall.opsPerSec ?? 0) || undefined;
  add(
    '`_bulk` ingest ≥ 50% of raw Lua batch ceiling, the faster of pipelines and 500 documents a call (ops/s)',
    bulk && luaBatch ? `${fmt(bulk)} / ${fmt(luaBatch)} = ${pct(bulk / luaBatch)}` : 'not measured',
    bulk && luaBatch ? bulk >= 0.5 * luaBatch : null,
  );
  const put = r.ingest?.put.requestsPerSec;
  const bare = r.ingest?.barePut.requestsPerSec;
  add(
    'single `PUT` ≥ 70% of bare-Fastify baseline (req/s)',
    put && bare ? `${fmt(put)} / ${fmt(bare)} = ${pct(put / bare)}` : 'not measured',
    put && bare ? put >= 0.7 * bare : null,
  );
  const p99 = r.e2e?.lagMs.p99;
  add(
    'end-to-end p99 lag < 250 ms at half load',
    p99 !== undefined && p99 !== null ? `${p99} ms` : 'not measured',
    p99 !== undefined && p99 !== null ? p99 < 250 : null,
  );
  const drainRuns = [...(r.sink?.runs ?? []), ...(r.mapped?.runs ?? []), ...(r.mapped?.control?.runs ?? [])];
  const afterDrain = drainRuns.length
    ? [r.sink?.rssIngest ?? null, ...drainRuns.flatMap((x) => x.rssSinks)].filter((x): x is number => x !== null)
    : [];
  add(
    `RSS < ${RSS_LIMIT_MB} MB for each process after the drain`,
    afterDrain.length ? `max ${mb(Math.max(...afterDrain))} MB (ingest ${mb(r.sink?.rssIngest)} MB)` : 'not measured',
    afterDrain.length ? Math.max(...afterDrain) < RSS_LIMIT_MB * 1048576 : null,
  );
  const hot = drains.find((x) => x.template === 'hot');
  add(
    'hot keys: rows written ≤ 30% of entries',
    hot ? `${pct(hot.rowsPerEntry)} (${fmt(hot.rowsWritten)} rows / ${fmt(hot.entries)} entries)` : 'not measured',
    hot ? (hot.rowsPerEntry ?? 0) <= 0.3 : null,
  );
  const best = two?.entriesPerSec;
  add(
    'an order of magnitude beyond 2,300 rows/s (Debezium JDBC sink), in changes applied a second',
    best ? `${fmt(best)} entries/s (2 replicas; ${fmt(two?.rowsPerSec)} rows/s written)` : 'not measured',
    best ? best >= 23_000 : null,
  );
  // Issue 15: writing the outputs (a typed row and about 5 child rows a written document, in the same transaction)
  // may cost the drain at most 30% of its entries a second, at the same replica count. Held against the control (the
  // same backlog of the same documents into the plain collection, drained in turns with it); phase 3's plain drain
  // (smaller documents, minutes earlier) is shown beside it, and judged on when a run has no control.
  const mappedReplicas = r.mapped?.replicas ?? r.options.mappedReplicas;
  const mapped = r.mapped?.drains.find((x) => x.replicas === mappedReplicas);
  const control = r.mapped?.control?.drains.find((x) => x.replicas === mappedReplicas);
  const plain = uniform.find((x) => x.replicas === mappedReplicas);
  const mappedTarget =
    `mapped drain (the shipped \`sessions\` outputs, about 5 screens a document) ≥ ${pct(MAPPED_SHARE)} of the ` +
    `plain drain of the same documents, ${mappedReplicas} replicas (entries/s)`;
  const shareOf = (base: DrainMean | undefined): number | null =>
    mapped?.entriesPerSec && base?.entriesPerSec ? mapped.entriesPerSec / base.entriesPerSec : null;
  const phase3 = shareOf(plain);
  const share = shareOf(control) ?? phase3;
  const mappedMeasured = !mapped
    ? 'not measured'
    : share === null
      ? `${fmt(mapped.entriesPerSec)} entries/s; no plain drain to compare`
      : `${fmt(mapped.entriesPerSec)} / ${fmt((control ?? plain)?.entriesPerSec)} = ${pct(share)} ` +
        `(${fmt(mapped.allTablesRowsPerSec)} rows/s into ${r.mapped?.tables.length ?? 0} tables)` +
        (control && phase3 !== null
          ? `; against phase 3's plain drain of smaller documents: ${fmt(plain?.entriesPerSec)}, ${pct(phase3)}`
          : control
            ? ''
            : ' (phase 3: no control drain in this run)');
  add(mappedTarget, mappedMeasured, share === null ? null : share >= MAPPED_SHARE && !mapped?.timedOut);

  return targets;
}

/**
 * A note when CPU time outside the measured processes (other people's work on a shared machine; before the kernel's
 * interrupt time was split out, that too), or time the host gave our cores to other guests, took more than a quarter
 * of the cores during the run.
 */
const disturbed = (cpu: CpuBreakdown | undefined, cores: number): string => {
  if (!cpu) return '';
  const steal = cpu.stealS;
  if (cpu.otherS + steal <= 0.25 * cpu.wallS * cores) return '';

  return ` (disturbed: ${Math.round(cpu.otherS)} CPU-s of other load and ${Math.round(steal)} s of host steal in ${Math.round(cpu.wallS)} s)`;
};

/** The markdown tables of a run. */
export function markdown(r: BenchResults): string {
  const lines: string[] = [];
  const cores = r.machine.cpus;
  const label = databaseLabel(r);
  const rowSource =
    r.options.database === 'mariadb'
      ? '`information_schema.TABLE_STATISTICS` (`userstat`: rows changed, not which way)'
      : '`pg_stat_user_tables`';
  const rounds = r.options.sinkRounds;
  // A cell of null or undefined stays empty (Array.prototype.join).
  const row = (...cells: (string | number | null | undefined)[]): void => {
    lines.push(`| ${cells.join(' | ')} |`);
  };
  // Every timed drain, named as the tables show it: phase 3's, then phase 6's (the control's, then the mapped drain's).
  const drains = [
    ...(r.sink?.runs ?? []).map((run) => ({ phase: 3, name: drainName(run, rounds), run })),
    ...[...(r.mapped?.control?.runs ?? []), ...(r.mapped?.runs ?? [])].map((run) => ({
      phase: 6,
      name: drainName(run, r.mapped?.rounds ?? 1),
      run,
    })),
  ];
  lines.push(`## Spillway benchmark, ${r.date}${r.options.quick ? ' (--quick)' : ''}`, '');
  lines.push(
    `${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, Redis ${r.machine.redis}, ${label} ${databaseVersion(r)}; ` +
      `load average ${r.load.start.join(' / ')} at start, ${r.load.end.join(' / ')} at end; ${Math.round(r.elapsedS ?? NaN)} s in all. Seed ${r.options.seed}.`,
    '',
  );
  lines.push('### Targets (issue 4)', '');
  row('target', 'measured', 'result');
  row('---', '---', '---');
  for (const t of r.targets ?? []) {
    row(t.target, t.measured, t.pass === null ? 'not run' : t.pass ? 'pass' : '**FAIL**');
  }
  lines.push('');
  lines.push('### Figures', '');
  row('phase', 'what', 'rate', 'latency / ratio');
  row('---', '---', '---:', '---');
  if (r.raw) {
    const { single, batch, manyPerCall } = r.raw.redis;
    row(
      '1 raw',
      `Redis writeDocuments Lua, one document a call, singly (${single.concurrency} in flight)`,
      `${fmt(single.opsPerSec)} ops/s`,
      `p50 ${single.latencyMs.p50} ms, p99 ${single.latencyMs.p99} ms`,
    );
    row(
      '1 raw',
      `Redis writeDocuments Lua, one document a call, pipelines of ${batch.batchSize} (${batch.inFlight} in flight)`,
      `${fmt(batch.opsPerSec)} ops/s`,
      `batch p50 ${batch.batchLatencyMs.p50} ms, p99 ${batch.batchLatencyMs.p99} ms; Redis CPU ${r.raw.redis.serverUsecPerCall} µs a call`,
    );
    row(
      '1 raw',
      `Redis writeDocuments Lua, ${manyPerCall.documentsPerCall} documents a call (${manyPerCall.inFlight} in flight)`,
      `${fmt(manyPerCall.opsPerSec)} ops/s`,
      `call p50 ${manyPerCall.callLatencyMs.p50} ms, p99 ${manyPerCall.callLatencyMs.p99} ms; Redis CPU ${manyPerCall.serverUsecPerDocument} µs a document`,
    );
  }
  for (const x of r.raw?.mariadb?.runs ?? []) {
    row(
      '1 raw',
      `MariaDB multi-row INSERT … ON DUPLICATE KEY UPDATE (the dialect's version-guarded upsert), ${x.pass} pass, batches of ${x.batchSize}, ${x.connections} conn.`,
      `${fmt(x.rowsPerSec)} rows/s`,
      `batch p50 ${x.batchMs.p50} ms, p99 ${x.batchMs.p99} ms`,
    );
  }
  for (const x of r.raw?.postgres?.runs ?? []) {
    row(
      '1 raw',
      `PostgreSQL ${x.mode === 'copy' ? 'COPY to staging + upsert' : 'multi-row upsert (unnest)'}, ${x.pass} pass, batches of ${x.batchSize}, ${x.connections} conn.`,
      `${fmt(x.rowsPerSec)} rows/s`,
      `batch p50 ${x.batchMs.p50} ms, p99 ${x.batchMs.p99} ms`,
    );
  }
  if (r.ingest) {
    const { put, bulk, barePut } = r.ingest;
    row(
      '2 ingest',
      `PUT /v1/sessions/{id}, ${put.connections} connections`,
      `${fmt(put.requestsPerSec)} req/s`,
      `p50 ${put.latencyMs.p50} ms, p99 ${put.latencyMs.p99} ms${put.non2xx ? `, ${put.non2xx} non-2xx` : ''}${disturbed(put.cpu, cores)}`,
    );
    row(
      '2 ingest',
      `POST _bulk, ${bulk.opsPerRequest} puts a request, ${bulk.connections} connections`,
      `${fmt(bulk.requestsPerSec)} req/s = ${fmt(bulk.opsPerSec)} ops/s`,
      `p50 ${bulk.latencyMs.p50} ms, p99 ${bulk.latencyMs.p99} ms${disturbed(bulk.cpu, cores)}`,
    );
    row(
      '2 ingest',
      `bare Fastify PUT, same Lua, ${barePut.connections} connections`,
      `${fmt(barePut.requestsPerSec)} req/s`,
      `p50 ${barePut.latencyMs.p50} ms, p99 ${barePut.latencyMs.p99} ms; ingest/bare ${pct(r.ingest.putToBare)}${disturbed(barePut.cpu, cores)}`,
    );
  }
  const ceiling = upsertCeiling(r);
  for (const x of r.sink?.runs ?? []) {
    const coldStart = x.coldStart
      ? `${fmt(x.coldStart.entriesPerSec)} entries/s over the first ${fmt(x.coldStart.entries)} warm-up entries`
      : 'not measured';
    row(
      '3 sink',
      `drain ${fmt(x.entries)} entries (${x.template === 'hot' ? 'hot keys: 1% of ids take half' : 'uniform over the ids'}), ${replicasAndRound(x, rounds)}`,
      `${fmt(x.entriesPerSec)} entries/s, ${fmt(x.rowsPerSec)} rows/s`,
      `${(x.drainMs / 1000).toFixed(1)} s${x.timedOut ? ' (stopped: timeout)' : ''}; ${x.rowsPerEntry} rows/entry; ` +
        `${ceiling ? `${pct((x.rowsPerSec ?? 0) / ceiling)} of upsert ceiling; ` : ''}` +
        `cold start ${coldStart}${disturbed(x.cpu, cores)}`,
    );
  }
  const mapped = r.mapped;
  for (const x of mapped?.control?.runs ?? []) {
    row(
      '6 control',
      `drain the same ${fmt(x.entries)} entries of the same documents into the plain \`sessions\` (no outputs), ` +
        `in turns with the mapped drain, ${replicasAndRound(x, mapped?.rounds ?? 1)}`,
      `${fmt(x.entriesPerSec)} entries/s, ${fmt(x.rowsPerSec)} rows/s`,
      `${(x.drainMs / 1000).toFixed(1)} s${x.timedOut ? ' (stopped: timeout)' : ''}${disturbed(x.cpu, cores)}`,
    );
  }
  for (const x of mapped?.runs ?? []) {
    const coldStart = x.coldStart
      ? `${fmt(x.coldStart.entriesPerSec)} entries/s over the first ${fmt(x.coldStart.entries)} warm-up entries`
      : 'not measured';
    row(
      '6 mapped',
      `drain ${fmt(x.entries)} entries (uniform over the ids) into the shipped \`sessions\` outputs, ` +
        `${mapped?.screensPerDocument} screens a document, ${replicasAndRound(x, mapped?.rounds ?? 1)}`,
      `${fmt(x.entriesPerSec)} entries/s, ${fmt(x.allTablesRowsPerSec)} rows/s in all tables`,
      `${(x.drainMs / 1000).toFixed(1)} s${x.timedOut ? ' (stopped: timeout)' : ''}; ` +
        `${x.tables.map((t) => `${t.table} ${fmt(t.writtenPerSec)} rows/s`).join(', ')}; ` +
        `cold start ${coldStart}${disturbed(x.cpu, cores)}`,
    );
  }
  if (r.e2e) {
    const e = r.e2e;
    row(
      '4 e2e',
      `PUT at ${fmt(e.offeredRate)} req/s offered for ${e.durationS} s, ${r.options.e2eReplicas} sinks`,
      `${fmt(e.achievedRate)} req/s`,
      `lag p50 ${e.lagMs.p50} ms, p99 ${e.lagMs.p99} ms, max ≤ ${e.lagMs.max} ms`,
    );
  }
  lines.push('');
  const cpuRows: [string, CpuBreakdown][] = [
    ...(r.ingest
      ? ([
          ['2 ingest PUT', r.ingest.put.cpu],
          ['2 ingest _bulk', r.ingest.bulk.cpu],
          ['2 bare Fastify PUT', r.ingest.barePut.cpu],
        ] as [string, CpuBreakdown][])
      : []),
    ...drains.map(({ phase, name, run }): [string, CpuBreakdown] => [`${phase} drain ${name}`, run.cpu]),
  ];
  if (cpuRows.length) {
    lines.push(
      `### Where the CPU went (CPU seconds during the measurement; ${cores} cores give ${cores} s per second)`,
      '',
    );
    row(
      'run',
      'wall s',
      'sinks',
      label,
      'redis',
      'ingest / bare',
      'bench (load generator)',
      'kernel irq',
      'other processes',
      'host steal',
      'machine busy',
    );
    row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:');
    for (const [name, c] of cpuRows) {
      row(
        name,
        c.wallS,
        c.sinksS,
        c.databaseS,
        c.redisS,
        c.bareServerS ?? c.ingestS,
        c.benchS,
        c.interruptsS,
        c.otherS,
        c.stealS,
        `${c.machineBusyPct}%`,
      );
    }
    lines.push('');
  }
  if (mapped?.runs.length) {
    lines.push(
      '### Mapped drain: rows by table',
      '',
      `Documents of ${mapped.documentBytes.mapped} bytes on average with their screens (plain: ` +
        `${mapped.documentBytes.plain}). Rows from ${rowSource} (reset after the truncation before the timed drain), ` +
        "rows held from `count(*)` after it. A newer version replaces its document's child rows.",
      '',
    );
    row('run', 'table', 'inserted', 'updated', 'deleted', 'written', 'written a second', 'rows held after');
    row('---', '---', '---:', '---:', '---:', '---:', '---:', '---:');
    for (const x of mapped.runs) {
      for (const t of x.tables) {
        const cells = [t.inserted, t.updated, t.deleted, t.written, t.writtenPerSec, t.rows].map(fmt);
        row(drainName(x, mapped.rounds), t.table, ...cells);
      }
    }
    lines.push('');
  }
  if (drains.length) {
    lines.push('### Sink batches', '');
    row(
      'run',
      'batches',
      'mean entries a batch',
      'batch write p50 ms',
      'p99 ms',
      'mean ms',
      'sink CPU µs/entry',
      `${label} CPU µs/entry`,
    );
    row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:');
    const perEntry = (seconds: number, x: SinkRun): number | string =>
      x.acked ? Math.round((seconds * 1e6) / x.acked) : '–';
    for (const { name, run: x } of drains) {
      row(
        name,
        fmt(x.batches),
        x.meanBatchSize,
        x.batchWriteMs.p50,
        x.batchWriteMs.p99,
        x.batchWriteMs.mean,
        perEntry(x.cpu.sinksS, x),
        perEntry(x.cpu.databaseS, x),
      );
    }
    lines.push('');
  }
  const withCommands = drains.filter(({ run }) => run.redisCommands.length);
  if (withCommands.length) {
    const columns = costliestCommands(
      withCommands.map(({ run }) => run.redisCommands),
      REDIS_COMMAND_COLUMNS,
    );
    lines.push(
      '### Redis time by command during the drains (INFO commandstats)',
      '',
      'µs of Redis time per entry, and calls per entry in brackets. The commands a script calls (`hget` from documentVersions: ' +
        'the ids a sink asks about) are counted on their own and again inside `evalsha`.',
      '',
    );
    row('run', ...columns.map((c) => `\`${c}\``));
    row('---', ...columns.map(() => '---:'));
    for (const { name, run } of withCommands) {
      const cost = new Map(run.redisCommands.map((c) => [c.command, c]));
      row(
        name,
        ...columns.map((c) => {
          const command = cost.get(c);

          return command ? `${command.usecPerEntry} (${command.callsPerEntry || '<0.001'})` : '–';
        }),
      );
    }
    lines.push('');
  }
  lines.push('### Memory (RSS, MB, at the end of each phase)', '');
  row('phase', 'ingest', 'sinks', 'other');
  row('---', '---:', '---', '---');
  for (const m of r.memory) row(m.phase, m.ingestMb ?? '–', m.sinksMb.length ? m.sinksMb.join(', ') : '–', m.other);

  return `${lines.join('\n')}\n`;
}
