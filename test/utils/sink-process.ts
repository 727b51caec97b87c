import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '../../scripts/lib/servers';
import { expectEventually } from './expect-eventually';

const SINK_MAIN = join(__dirname, '..', '..', 'dist', 'apps', 'sink', 'main.js');

/** A real sink process (the built app), as Kubernetes would run one replica. */
export class SinkProcess {
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: string[] = [];
  port = 0;

  constructor(
    readonly consumer: string,
    private readonly env: Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(SINK_MAIN)) {
      throw new Error(`${SINK_MAIN} is missing: run npm run build first (npm test does)`);
    }
    this.port = await findFreePort();
    this.child = spawn(process.execPath, [SINK_MAIN], {
      env: { ...process.env, ...this.env, PORT: String(this.port), SINK_CONSUMER: this.consumer, LOG_LEVEL: 'log' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exited = new Promise((resolve) => this.child!.once('exit', (code, signal) => resolve({ code, signal })));
    await expectEventually(async () => {
      const response = await fetch(`http://127.0.0.1:${this.port}/health/ready`);
      if (response.status !== 200) {
        throw new Error(`sink ${this.consumer} not ready: ${await response.text()}`);
      }
    }, 30_000);
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Resolves with the exit code, or the signal that ended the process. */
  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited ?? Promise.resolve({ code: null, signal: null });
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  async readyStatus(): Promise<number> {
    return (await fetch(`http://127.0.0.1:${this.port}/health/ready`)).status;
  }

  /** SIGTERM and wait; used in afterEach, so it never throws. */
  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await Promise.race([this.waitForExit(), new Promise((resolve) => setTimeout(resolve, 15_000))]);
      this.child.kill('SIGKILL');
    }
  }
}

/** Sum of a counter's samples with the given label subset in a Prometheus text page. */
export function metricSum(page: string, name: string, labels: Record<string, string> = {}): number {
  return page
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
