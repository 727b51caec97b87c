// Which master kill lost which acknowledged writes: a loss is the kill's only when it is on a partition the killed
// master held and its request was sent within the kill's LossWindow.
import type { LossWindow } from './fault-outcome';

/** A master kill of the run: the partitions the killed master held, and the window of its loss. */
export interface MasterKill extends LossWindow {
  /** e.g. `12.3 s master-kill` */
  fault: string;
  partitions: readonly string[];
}

/** What the master kills lost: acknowledged document writes Redis no longer reflects, acknowledged events with no row. */
export interface FailoverLoss {
  documentWrites: number;
  events: number;
  byFault: { fault: string; documentWrites: number; events: number }[];
}

/**
 * Attributes losses to the master kills that can explain them: a write of a partition the kill's master held, sent
 * within the kill's window.
 */
export class FailoverLosses {
  private readonly lost: FailoverLoss['byFault'];

  constructor(private readonly kills: readonly MasterKill[]) {
    this.lost = kills.map(({ fault }) => ({ fault, documentWrites: 0, events: 0 }));
  }

  /** The kill that can have lost an acknowledged write to `partition` sent as request number `request`, if any. */
  killOf(partition: string, request: number): number | undefined {
    const index = this.kills.findIndex(
      (kill) => kill.partitions.includes(partition) && kill.from.requests < request && request <= kill.to.requests,
    );

    return index < 0 ? undefined : index;
  }

  /** The last kill of `partition` whose window began before request number `request` was sent, if any. */
  lastKillBefore(partition: string, request: number): number | undefined {
    for (let index = this.kills.length - 1; index >= 0; index -= 1) {
      const kill = this.kills[index] as MasterKill;
      if (kill.partitions.includes(partition) && kill.from.requests < request) return index;
    }

    return undefined;
  }

  add(kill: number, kind: 'documentWrites' | 'events', count: number): void {
    const row = this.lost[kill];
    if (row) row[kind] += count;
  }

  get total(): FailoverLoss {
    return {
      documentWrites: this.lost.reduce((n, row) => n + row.documentWrites, 0),
      events: this.lost.reduce((n, row) => n + row.events, 0),
      byFault: this.lost,
    };
  }
}
