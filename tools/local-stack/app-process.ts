import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sleep } from './commands';
import { findFreePort, LOOPBACK_HOST } from './ports';
import { APP_NODE_FLAGS, ROOT, SINK_NODE_FLAGS } from './project';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const OUTPUT_LINES_KEPT = 200;

/** The built apps, as `nest build` names them under dist/apps/. */
export type AppName = 'ingest' | 'sink';

/** How an app process ended: the exit code, or the signal that ended it. */
export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** An exit nobody asked for (SIGKILL and SIGTERM through signal() are asked for). */
export interface UnexpectedExit extends AppExit {
  name: string;
  /** ISO time of the exit */
  at: string;
}

/** How an AppProcess runs, beyond its environment. */
export interface AppProcessOptions {
  /** the port to listen on; default a free one, picked at the first start and kept across restarts */
  port?: number;
  /**
   * Its own process group, so that a Ctrl-C in the terminal reaches only the owner, which then stops the apps in
   * its own order (npm start). Default false.
   */
  detached?: boolean;
  /** called with every line the app prints (stdout and stderr), as it comes */
  onOutputLine?: (line: string) => void;
}

/**
 * One built app (ingest or a sink) as a child process on its own port, as Kubernetes would run one replica. Its
 * environment is this process's, then `env` (LOG_LEVEL among it, to choose how much it logs), then PORT. The last
 * lines of its output are kept in `output`.
 */
export class AppProcess {
  /** 0 until the first start picks a free port (unless given); kept across restarts */
  port: number;
  /** last lines of output, for a report when something goes wrong */
  readonly output: string[] = [];
  /** exits nobody asked for */
  readonly unexpectedExits: UnexpectedExit[] = [];
  private child?: ChildProcess;
  private expectExit = false;
  private exited: Promise<AppExit> = Promise.resolve({ code: null, signal: null });

  constructor(
    /** shown in reports; a sink's consumer name by convention */
    readonly name: string,
    readonly app: AppName,
    readonly env: Record<string, string>,
    private readonly options: AppProcessOptions = {},
  ) {
    this.port = options.port ?? 0;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    const child = this.child;

    return child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get url(): string {
    return `http://${LOOPBACK_HOST}:${this.port}`;
  }

  /** Spawns the app and waits until /health/live answers (ready needs Redis, which a fault may have taken). */
  async start(): Promise<void> {
    if (this.running) return;
    const main = join(ROOT, 'dist', 'apps', this.app, 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm test does)`);
    if (this.port === 0) this.port = await findFreePort();
    this.expectExit = false;
    // SPILLWAY_NODE_ARGS passes flags to the apps' node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them.
    const nodeArgs = process.env.SPILLWAY_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
    const appFlags = this.app === 'sink' ? SINK_NODE_FLAGS : [];
    const child = spawn(process.execPath, [...APP_NODE_FLAGS, ...appFlags, ...nodeArgs, main], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.options.detached ?? false,
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.keepOutput(line));
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.expectExit) {
          this.unexpectedExits.push({ name: this.name, code, signal, at: new Date().toISOString() });
        }
        resolve({ code, signal });
      });
      // A process that could not be spawned has no 'exit' to wait for.
      child.once('error', (error) => {
        this.keepOutput(`cannot run ${this.app}: ${error.message}`);
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    });
    await this.waitFor('/health/live');
  }

  private keepOutput(line: string): void {
    this.options.onOutputLine?.(line);
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.splice(0, this.output.length - OUTPUT_LINES_KEPT);
  }

  /** Polls GET `path` until it answers 200; throws when the app exits first or the time is up. */
  async waitFor(path: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} exited before ${path} answered:\n${this.output.slice(-20).join('\n')}`);
      }
      try {
        const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2000) });
        if (response.status === 200) return;
        last = `${response.status} ${(await response.text()).slice(0, 200)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(100);
    }
    throw new Error(`${this.name}: ${path} not 200 after ${timeoutMs} ms (${last})`);
  }

  /** Polls /health/ready (Redis and PostgreSQL reachable) until it answers 200. */
  waitUntilReady(timeoutMs?: number): Promise<void> {
    return this.waitFor('/health/ready', timeoutMs);
  }

  /** The status /health/ready answers right now. */
  async readyStatus(): Promise<number> {
    return (await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(5000) })).status;
  }

  /** Sends a signal; SIGKILL and SIGTERM count as asked-for exits. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.expectExit = true;
    this.child?.kill(signal);
  }

  /** Resolves with how the current (or last) process ended. */
  waitForExit(): Promise<AppExit> {
    return this.exited;
  }

  /** SIGKILL and wait for the exit: a crash. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (drain) and wait; SIGKILL after `timeoutMs`. Returns how long the drain took, in ms. */
  async terminate(timeoutMs = STOP_TIMEOUT_MS): Promise<number> {
    if (!this.running) return 0;
    const started = Date.now();
    this.signal('SIGCONT'); // a frozen process cannot handle SIGTERM
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);

    return Date.now() - started;
  }

  /** Resident set size from /proc, in bytes; undefined when not running. */
  rssBytes(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));

      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** The app's Prometheus page. */
  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  }
}
