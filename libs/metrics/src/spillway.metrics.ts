import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const BATCH_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * What the sink made of an entry: a state-table row inserted, updated or deleted; stale (an equal or newer version
 * was stored); rejected (dead-lettered); filtered (applied, but kept out of the output tables by the filter).
 */
export type SinkOutcome = 'inserted' | 'updated' | 'deleted' | 'stale' | 'rejected' | 'filtered';

/** Every Spillway metric of CONTRACT.md section 6, on one registry. */
export class SpillwayMetrics {
  readonly ingestRequests: Counter<'route' | 'method' | 'status'>;
  readonly ingestRequestDuration: Histogram<'route' | 'method'>;
  readonly ingestWrites: Counter<'collection' | 'op'>;
  readonly sinkEntries: Counter<'collection' | 'connection' | 'outcome'>;
  readonly sinkBatchSize: Histogram<'collection' | 'connection'>;
  readonly sinkWriteDuration: Histogram<'collection' | 'connection'>;
  readonly sinkLag: Histogram<'collection' | 'connection'>;
  readonly streamLength: Gauge<'collection'>;
  readonly streamPending: Gauge<'collection'>;
  readonly streamBacklog: Gauge<'collection'>;
  readonly dlqLength: Gauge<'collection'>;
  readonly sinkReclaimed: Counter<'collection' | 'connection'>;
  readonly sinkRetries: Counter<'reason' | 'connection'>;
  /** Beyond CONTRACT.md: write answers by the durability asked for and the durability reached (issue 19). */
  readonly ingestDurability: Counter<'collection' | 'requested' | 'reached'>;
  /** Beyond CONTRACT.md: the partitions whose lease this sink holds (issue 17). */
  readonly sinkPartitionsOwned: Gauge<'collection' | 'connection'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.ingestRequests = new Counter({
      name: 'spillway_ingest_requests_total',
      help: 'HTTP requests answered by ingest',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.ingestRequestDuration = new Histogram({
      name: 'spillway_ingest_request_duration_seconds',
      help: 'Time to answer an ingest request',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ingestWrites = new Counter({
      name: 'spillway_ingest_writes_total',
      help: 'Writes accepted into Redis and the stream',
      labelNames: ['collection', 'op'],
      registers,
    });
    this.ingestDurability = new Counter({
      name: 'spillway_ingest_durability_total',
      help: 'Write answers by the durability level asked for and the level reached (lower: the wait timed out)',
      labelNames: ['collection', 'requested', 'reached'],
      registers,
    });
    this.sinkEntries = new Counter({
      name: 'spillway_sink_entries_total',
      help: 'Stream entries the sink has settled, by connection (database) and outcome',
      labelNames: ['collection', 'connection', 'outcome'],
      registers,
    });
    this.sinkBatchSize = new Histogram({
      name: 'spillway_sink_batch_size',
      help: 'Entries per batch written by the sink',
      labelNames: ['collection', 'connection'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.sinkWriteDuration = new Histogram({
      name: 'spillway_sink_write_duration_seconds',
      help: 'Time to write one batch to a database, commit included',
      labelNames: ['collection', 'connection'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sinkLag = new Histogram({
      name: 'spillway_sink_lag_seconds',
      help: 'Time from ingest accepting a write to its commit in a database',
      labelNames: ['collection', 'connection'],
      buckets: LAG_BUCKETS,
      registers,
    });
    this.streamLength = new Gauge({
      name: 'spillway_stream_length',
      help: 'Entries in the collection streams',
      labelNames: ['collection'],
      registers,
    });
    this.streamPending = new Gauge({
      name: 'spillway_stream_pending',
      help: 'Entries delivered to a sink and not yet acked',
      labelNames: ['collection'],
      registers,
    });
    this.streamBacklog = new Gauge({
      name: 'spillway_stream_backlog',
      help: 'Entries not yet acked: undelivered plus pending',
      labelNames: ['collection'],
      registers,
    });
    this.dlqLength = new Gauge({
      name: 'spillway_dlq_length',
      help: 'Entries in the dead-letter streams',
      labelNames: ['collection'],
      registers,
    });
    this.sinkReclaimed = new Counter({
      name: 'spillway_sink_reclaimed_total',
      help: 'Entries reclaimed with XAUTOCLAIM from idle consumers',
      labelNames: ['collection', 'connection'],
      registers,
    });
    this.sinkRetries = new Counter({
      name: 'spillway_sink_retries_total',
      help: 'Retries of a batch or a connection, by reason',
      labelNames: ['reason', 'connection'],
      registers,
    });
    this.sinkPartitionsOwned = new Gauge({
      name: 'spillway_sink_partitions_owned',
      help: 'Partitions of a collection this sink holds the lease of, and so reads, per connection',
      labelNames: ['collection', 'connection'],
      registers,
    });
  }
}
