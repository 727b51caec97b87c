// What one fault of the schedule did, as the timeline records it.
import type { LedgerMark } from './ledger';

/**
 * The acknowledged writes a Redis Cluster or Sentinel master kill may have lost: those to its partitions whose
 * requests were sent between `from`, taken 2 s before the SIGKILL, and `to`, taken at the SIGKILL. A request sent later
 * cannot have been applied by the dead master; one sent earlier had been applied and replicated long before (a request's time
 * in ingest and the replica's lag are far below 2 s on loopback).
 */
export interface LossWindow {
  from: LedgerMark;
  to: LedgerMark;
}

/** A fault's description and, for a Redis Cluster fault, the partitions it touched. */
export interface FaultOutcome {
  detail: string;
  /** partitions (`collection.p`) whose master the fault changed, killed or moved */
  partitions?: string[];
  /** set by a master kill: see LossWindow */
  lossWindow?: LossWindow;
}
