// The command line of the run tools (chaos, fuzz, soak): flags, usage, exit codes.
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export const EXIT_PASSED = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Flags every run tool takes besides its own. */
const COMMON_FLAGS: ParseArgsOptionsConfig = {
  seed: { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

/**
 * Flags that take a value, from their defaults (undefined: no default); parseArgs reads every value as text and
 * the tool's `read` checks it.
 */
export function stringFlags(defaults: Record<string, string | undefined>): ParseArgsOptionsConfig {
  return Object.fromEntries(
    Object.entries(defaults).map(([flag, value]) => [
      flag,
      value === undefined ? { type: 'string' } : { type: 'string', default: value },
    ]),
  );
}

/** Typed access to the parsed flags; a value out of range throws, which the tool answers as bad usage. */
export interface FlagReader {
  /** An integer flag from `min` to `max`. */
  int(flag: string, min: number, max: number): number;
  /** An integer flag from `min` to `max`, or undefined when the flag was not given. */
  optionalInt(flag: string, min: number, max: number): number | undefined;
  string(flag: string): string;
  boolean(flag: string): boolean;
}

/** One run tool: its flags, how it reads them into options, and the run, whose report says whether it passed. */
export interface RunTool<T> {
  name: string;
  usage: string;
  flags: ParseArgsOptionsConfig;
  read: (flags: FlagReader) => T;
  run: (options: T & { seed: number }) => Promise<{ passed: boolean }>;
}

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function flagReader(values: FlagValues): FlagReader {
  const int = (flag: string, min: number, max: number): number => {
    const value = Number(values[flag]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`--${flag} must be an integer from ${min} to ${max}`);
    }

    return value;
  };

  return {
    int,
    optionalInt: (flag, min, max) => (values[flag] === undefined ? undefined : int(flag, min, max)),
    string: (flag) => String(values[flag] ?? ''),
    boolean: (flag) => values[flag] === true,
  };
}

/**
 * Parses the flags, prints the usage for --help, answers bad usage with exit code 2, runs the tool, writes its
 * report as JSON when --json names a file, and sets the exit code: 0 when the report says passed, else 1.
 */
export function runTool<T>({ name, usage, flags, read, run }: RunTool<T>): void {
  const main = async (): Promise<number> => {
    let values: FlagValues;
    let options: T & { seed: number };
    try {
      ({ values } = parseArgs({ args: process.argv.slice(2), options: { ...flags, ...COMMON_FLAGS } }));
      if (values.help === true) {
        process.stdout.write(usage);

        return EXIT_PASSED;
      }
      const reader = flagReader(values);
      const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : reader.int('seed', 0, 2 ** 31);
      options = { ...read(reader), seed };
    } catch (error) {
      process.stderr.write(
        `${name}: ${error instanceof Error ? error.message : String(error)}\nRun with --help for usage.\n`,
      );

      return EXIT_USAGE;
    }
    process.stderr.write(`${name}: seed ${options.seed}\n`);
    const report = await run(options);
    if (typeof values.json === 'string' && values.json !== '') {
      writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    }

    return report.passed ? EXIT_PASSED : EXIT_FAILED;
  };
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}
