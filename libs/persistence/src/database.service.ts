import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { serverOf, tlsFailureMessage } from '@app/config';
import { retryDelayMs } from './backoff';
import { type SqlDialect, sqlDialectOf } from './dialect';

/**
 * Owns one database's TypeORM DataSource and connects it in the background with backoff,
 * so an app starts (and reports not-ready) while the database is still down.
 */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseService.name);
  private connecting?: Promise<DataSource>;
  private closed = false;
  private closing?: Promise<void>;
  private tlsFailure?: string;

  /** What differs between the databases: every statement the apps run goes through it. */
  readonly dialect: SqlDialect;

  constructor(readonly dataSource: DataSource) {
    this.dialect = sqlDialectOf(dataSource);
  }

  get isConnected(): boolean {
    return this.dataSource.isInitialized;
  }

  /**
   * Why the last attempt to connect failed, when TLS failed (`TLS verification failed for PostgreSQL host:port: …`),
   * for readiness; undefined once connected, and for any other failure.
   */
  get connectionProblem(): string | undefined {
    return this.isConnected ? undefined : this.tlsFailure;
  }

  /** Resolves once connected; retries until then. */
  connect(): Promise<DataSource> {
    this.connecting ??= this.connectWithRetry();

    return this.connecting;
  }

  private async connectWithRetry(): Promise<DataSource> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.dataSource.initialize();
      } catch (error) {
        if (this.closed) {
          throw error;
        }
        const delay = retryDelayMs(attempt);
        this.tlsFailure = tlsFailureMessage(this.server(), error);
        if (this.tlsFailure === undefined) {
          this.logger.warn(
            `${this.dialect.label} not reachable (${(error as Error).message}); retrying in ${delay} ms`,
          );
        } else {
          this.logger.error(`${this.tlsFailure}; retrying in ${delay} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** `PostgreSQL host:port`, for messages; never the URL's credentials. */
  private server(): string {
    const { url } = this.dataSource.options as { url?: string };

    return `${this.dialect.label} ${url === undefined ? 'server' : serverOf(url, this.dialect.defaultPort)}`;
  }

  /** Closes the pool; once, however many owners ask (Nest, and {@link DatabaseConnections}). */
  onApplicationShutdown(): Promise<void> {
    this.closing ??= this.close();

    return this.closing;
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
  }
}
