// The markdown of a cluster run (bench/results/<date>-cluster.md): the raw ceilings, ingest beside them, the drain
// matrix, the unit costs, the model, and where the CPU went in every run.
import type { CpuPart, PartsBreakdown } from './cluster-cpu';
import { costsLine } from './cluster-model';
import type { ClusterBenchResults } from './cluster-results';
import { commandsCell } from './cluster-targets';
import { fmt } from './stats';

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(x * 100)}%`;

/** The CPU table's columns: the parts, then the rest of the machine. */
const CPU_COLUMNS: [CpuPart, string][] = [
  ['ingest', 'ingest'],
  ['sinks', 'sinks'],
  ['redisMasters', 'cluster masters'],
  ['redisReplicas', 'cluster replicas'],
  ['redisSingle', 'one redis-server'],
  ['database', 'PostgreSQL'],
  ['bench', 'bench (load, raw clients)'],
];

export function clusterMarkdown(r: ClusterBenchResults): string {
  const lines: string[] = [];
  const row = (...cells: (string | number | null | undefined)[]): void => {
    lines.push(`| ${cells.join(' | ')} |`);
  };
  const cpuRows: [string, PartsBreakdown][] = r.idle ? [['at rest, before the first run', r.idle]] : [];
  const s = r.settings;
  lines.push(`## Spillway on Redis Cluster, ${r.date}${r.options.quick ? ' (--quick)' : ''}`, '');
  lines.push(
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, Node ${r.machine.node}, Redis ` +
      `${r.machine.redis}, PostgreSQL ${r.machine.postgres}. A local Redis Cluster of ${s.masters} masters and ` +
      `${s.masters * s.replicasPerMaster} replicas (AOF, fsync every second) beside one redis-server (the same), ` +
      `durable PostgreSQL. Load average ${r.load.start.join(' / ')} at the start, ${r.load.end.join(' / ')} at the ` +
      `end; ${r.elapsedS ?? '–'} s in all${r.cpu ? `; the machine was ${r.cpu.machineBusyPct}% busy over the run, with ${r.cpu.otherS} CPU-s of other work and ${r.cpu.stealS} s of host steal` : ''}. Seed ${r.options.seed}.`,
    '',
    `On ${r.machine.cpus} cores the cores, not the design, cap every rate below: the ${s.masters * (1 + s.replicasPerMaster)} ` +
      'redis-servers, ingest, the sinks, PostgreSQL and the load itself share them. The unit costs (µs of CPU a ' +
      'write, an entry, a row) are what carries over to bigger machines; the model at the end uses them.',
    '',
  );

  if (r.idle) {
    const rate = (part: CpuPart): string => ((r.idle?.parts[part] ?? 0) / (r.idle?.wallS || 1)).toFixed(3);
    lines.push(
      `At rest (the servers and the idle apps, ${r.idle.wallS} s before the first run), CPU-s a second: cluster ` +
        `masters ${rate('redisMasters')}, replicas ${rate('redisReplicas')}, one redis-server ${rate('redisSingle')}, ` +
        `ingest ${rate('ingest')}, PostgreSQL ${rate('database')}; other work on the machine ` +
        `${(r.idle.otherS / (r.idle.wallS || 1)).toFixed(2)}. The µs figures below include the parts' share of it.`,
      '',
    );
  }
  if (r.raw) {
    lines.push('### Raw ceilings', '');
    row(
      'what',
      'on',
      'writes/s',
      'per server',
      'Redis µs a write',
      'replicas µs a write',
      'bench µs a write',
      'machine busy',
    );
    row('---', '---', '---:', '---', '---:', '---:', '---:', '---:');
    for (const x of r.raw.redis) {
      row(
        x.mode === 'pipelines'
          ? `writeDocuments Lua, pipelines of ${s.rawBatchSize} one-document calls (${s.rawInFlight} in flight a server)`
          : `writeDocuments Lua, ${s.rawBatchSize} documents a call (${s.rawInFlight} in flight a server)`,
        x.target,
        fmt(x.writesPerSec),
        x.perServerWritesPerSec.map(fmt).join(' + '),
        x.redisUsPerWrite,
        x.servers > 1 ? x.replicasUsPerWrite : '–',
        x.benchUsPerWrite,
        `${x.cpu.machineBusyPct}%`,
      );
      cpuRows.push([`raw Redis, ${x.target}, ${x.mode}`, x.cpu]);
    }
    lines.push('');
    const pg = r.raw.postgres;
    lines.push(
      `PostgreSQL, version-guarded multi-row upserts (phase 1's, ${fmt(s.databaseRows)} rows a pass, 1 and 2 ` +
        `connections): best update pass ${fmt(pg.ceiling.upsertRowsPerSec)} rows/s (COPY + upsert ` +
        `${fmt(pg.ceiling.copyRowsPerSec)}); every pass: ` +
        pg.runs.map((x) => `${x.mode} ${x.pass} ×${x.connections} ${fmt(x.rowsPerSec)}`).join(', ') +
        '.',
      '',
    );
    cpuRows.push(['raw PostgreSQL (all passes)', r.raw.postgresCpu]);
  }

  if (r.ingest?.length) {
    lines.push(
      `### Ingest (the built app, one process; a collection of ${s.ingestPartitions} partitions; ${s.ingestDurationS} s a run)`,
      '',
    );
    row(
      'load',
      'on',
      'req/s',
      'documents/s',
      'of the raw ceiling',
      'p50 / p99 ms',
      'ingest µs a document',
      'Redis µs a document',
      'replicas µs',
      'Redis commands a document: calls (Redis µs)',
      'machine busy',
      'other CPU-s',
    );
    row('---', '---', '---:', '---:', '---:', '---', '---:', '---:', '---:', '---', '---:', '---:');
    for (const x of r.ingest) {
      // _bulk is held to the faster batched way to run the script, PUT to pipelines of one-document calls.
      const raws = (r.raw?.redis ?? []).filter((raw) => raw.target === x.target);
      const ceiling =
        x.load === 'PUT'
          ? raws.find((raw) => raw.mode === 'pipelines')?.writesPerSec
          : Math.max(...raws.map((raw) => raw.writesPerSec ?? 0));
      row(
        x.load === 'PUT'
          ? `PUT, ${x.connections} connections`
          : `_bulk of ${x.opsPerRequest}, ${x.connections} connections`,
        x.target,
        fmt(x.requestsPerSec),
        fmt(x.writesPerSec),
        ceiling ? pct((x.writesPerSec ?? 0) / ceiling) : '–',
        `${x.latencyMs.p50} / ${x.latencyMs.p99}`,
        x.us.ingest,
        x.us.redis,
        x.target === '1 server' ? '–' : x.us.replicas,
        commandsCell(x.redisCommands),
        `${x.cpu.machineBusyPct}%`,
        x.cpu.otherS,
      );
      cpuRows.push([`ingest ${x.load}, ${x.target}`, x.cpu]);
    }
    lines.push('');
  }

  if (r.drain) {
    const { runs, starts } = r.drain;
    const partitions = [...new Set(runs.map((x) => x.partitions))].sort((a, b) => a - b);
    const sinks = [...new Set(runs.map((x) => x.sinks))].sort((a, b) => a - b);
    const find = (p: number, n: number) => runs.find((x) => x.partitions === p && x.sinks === n);
    lines.push(`### Drain on the cluster (${fmt(s.entries)} entries a backlog, about 10 an id; entries/s, rows/s)`, '');
    row('partitions (on the masters)', ...sinks.map((n) => `${n} sink${n > 1 ? 's' : ''}`));
    row('---', ...sinks.map(() => '---:'));
    for (const p of partitions) {
      const spread = find(p, sinks[0] ?? 1)?.partitionsPerMaster.join('/') ?? '';
      row(
        `${p} (${spread})`,
        ...sinks.map((n) => {
          const x = find(p, n);

          return x ? `${fmt(x.entriesPerSec)} / ${fmt(x.rowsPerSec)}${x.timedOut ? ' (timed out)' : ''}` : '–';
        }),
      );
    }
    lines.push('');
    row(
      'partitions',
      'sinks',
      'entries/s',
      'rows/s',
      'rows an entry',
      'sinks µs an entry',
      'masters µs an entry',
      'replicas µs an entry',
      'PostgreSQL µs a row',
      'batch write p50 / p99 ms',
      "masters' commands an entry: calls (Redis µs)",
      'machine busy',
      'other CPU-s',
    );
    row('---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---', '---:', '---:');
    for (const x of runs) {
      row(
        x.partitions,
        x.sinks,
        fmt(x.entriesPerSec),
        fmt(x.rowsPerSec),
        x.rowsPerEntry,
        x.us.sinksPerEntry,
        x.us.redisMastersPerEntry,
        x.us.redisReplicasPerEntry,
        x.us.databasePerRow,
        `${x.batchWriteMs.p50} / ${x.batchWriteMs.p99}`,
        commandsCell(x.redisCommands, 4),
        `${x.cpu.machineBusyPct}%`,
        x.cpu.otherS,
      );
      cpuRows.push([`drain, ${x.partitions} partition(s), ${x.sinks} sink(s)`, x.cpu]);
    }
    lines.push(
      '',
      'Sinks started: ' +
        starts
          .map(
            (x) =>
              `${x.sinks}: leases shared out ${x.leasesSharedMs ?? '(not within 60 s)'} ms after ready, warm-up ` +
              `(cold start) ${fmt(x.warmUp.entriesPerSec)} entries/s over ${fmt(x.warmUp.entries)}`,
          )
          .join('; ') +
        `. SINK_LEASE_TTL_MS ${s.leaseTtlMs}.`,
      '',
    );
  }

  if (r.costs && r.model) {
    lines.push('### Unit costs and the model (bench/lib/cluster-model.ts)', '', `${costsLine(r.costs)}.`, '', r.model);
  }

  if (cpuRows.length) {
    lines.push(
      '### CPU seconds by part',
      '',
      '"other" is the machine\'s busy time that none of the parts account for: other work on the shared machine.',
      '',
    );
    row('run', 'wall s', ...CPU_COLUMNS.map(([, label]) => label), 'kernel irq', 'other', 'host steal', 'machine busy');
    row('---', '---:', ...CPU_COLUMNS.map(() => '---:'), '---:', '---:', '---:', '---:');
    for (const [name, cpu] of cpuRows) {
      row(
        name,
        cpu.wallS,
        ...CPU_COLUMNS.map(([part]) => cpu.parts[part]),
        cpu.interruptsS,
        cpu.otherS,
        cpu.stealS,
        `${cpu.machineBusyPct}%`,
      );
    }
    lines.push('');
  }
  if (r.unexpectedExits?.length) {
    lines.push(`**Processes exited unexpectedly:** ${JSON.stringify(r.unexpectedExits)}`, '');
  }

  return `${lines.join('\n')}\n`;
}
