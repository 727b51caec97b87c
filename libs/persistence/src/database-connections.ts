import type { OnApplicationShutdown } from '@nestjs/common';
import { type Collection, connectionsOf, connectionView } from '@app/collections';
import { DEFAULT_CONNECTION } from '@app/contracts';
import type { DatabaseService } from './database.service';

/** A database this process writes to, by connection name. */
export interface NamedDatabase {
  readonly name: string;
  readonly database: DatabaseService;
}

/**
 * The databases of this process by connection name: `default` (DATABASE_URL's, which the ingest reads) and those of
 * SPILLWAY_CONNECTIONS. A database connects when first used. Closes them all on shutdown.
 */
export class DatabaseConnections implements OnApplicationShutdown {
  private readonly byName: ReadonlyMap<string, DatabaseService>;

  constructor(databases: readonly NamedDatabase[]) {
    this.byName = new Map(databases.map((d) => [d.name, d.database]));
  }

  /** Every connection, `default` first. */
  all(): NamedDatabase[] {
    return [...this.byName].map(([name, database]) => ({ name, database }));
  }

  /** The connections named (a sink's SINK_CONNECTIONS), in the configured order; every one when none is named. */
  select(names: readonly string[]): NamedDatabase[] {
    const all = this.all();

    return names.length === 0 ? all : all.filter((d) => names.includes(d.name));
  }

  get(name: string): DatabaseService {
    const database = this.byName.get(name);
    if (database === undefined) {
      throw new Error(`there is no connection ${name}`);
    }

    return database;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.byName.values()].map((d) => d.onApplicationShutdown()));
  }
}

/** The collections as one connection's database holds them: those writing to it, each with its outputs there. */
export function collectionsIn(collections: readonly Collection[], connection: string): Collection[] {
  return collections.filter((c) => connectionsOf(c).includes(connection)).map((c) => connectionView(c, connection));
}

/** True for the connection whose state tables the ingest reads (and whose sink drops Redis's delete markers). */
export const isDefaultConnection = (name: string): boolean => name === DEFAULT_CONNECTION;
