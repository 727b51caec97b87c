// The command line of the run tools (chaos, fuzz, soak): flags, usage, exit codes.
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export const EXIT_PASSED = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Flags every run tool takes besides its own. */
const COMMON_FLAGS = {
  seed: { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

/**
 * Parses the flags, prints the usage for --help, answers bad usage with exit code 2, runs the tool, writes its
 * report as JSON when --json names a file, and sets the exit code: 0 when the report says passed, else 1.
 * @template T
 * @param {{
 *   name: string,
 *   usage: string,
 *   flags: Record<string, { type: 'string' | 'boolean', default?: string | boolean }>,
 *   read: (values: Record<string, any>, int: (flag: string, min: number, max: number) => number) => T,
 *   run: (options: T & { seed: number }) => Promise<{ passed: boolean }>,
 * }} tool
 */
export function runTool({ name, usage, flags, read, run }) {
  const main = async () => {
    let values;
    let options;
    try {
      ({ values } = parseArgs({ args: process.argv.slice(2), options: { ...flags, ...COMMON_FLAGS } }));
      if (values.help) {
        process.stdout.write(usage);
        return EXIT_PASSED;
      }
      const int = (flag, min, max) => {
        const value = Number(values[flag]);
        if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${flag} must be an integer from ${min} to ${max}`);
        return value;
      };
      const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : int('seed', 0, 2 ** 31);
      options = { ...read(values, int), seed };
    } catch (error) {
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : error}\nRun with --help for usage.\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`${name}: seed ${options.seed}\n`);
    const report = await run(options);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return report.passed ? EXIT_PASSED : EXIT_FAILED;
  };
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`${name}: ${error?.stack ?? error}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}
