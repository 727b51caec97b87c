import type { AppProcess, UnexpectedExit } from '../../tools/local-stack';
import { say } from './log';

/**
 * The unexpected exits of `apps` (a run's ingest and sinks; absent ones skipped), each app that had one said with the
 * last 20 lines of its output, for a run's results.
 */
export function reportUnexpectedExits(apps: readonly (AppProcess | undefined)[]): UnexpectedExit[] {
  const crashes = apps.flatMap((app) => app?.unexpectedExits ?? []);
  if (crashes.length) {
    say(`processes exited unexpectedly: ${JSON.stringify(crashes)}`);
    for (const app of apps) {
      if (app?.unexpectedExits.length) say(`${app.name}:\n${app.output.slice(-20).join('\n')}`);
    }
  }

  return crashes;
}
