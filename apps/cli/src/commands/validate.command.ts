import { checkCollectionFiles, type CollectionFileProblem, loadEntityModules } from '@app/collections';
import { readCommandEnv, splitList } from '@app/config';
import { type Command, Option } from 'commander';

/** COLLECTIONS_DIR's default, as libs/config/src/env.schema.ts has it (the CLI does not load the apps' config). */
export const DEFAULT_COLLECTIONS_DIR = 'config/collections';

/** `file: path: reason`, the line `spillway validate` prints for a problem. */
export function problemLine(problem: CollectionFileProblem): string {
  return `${problem.file}: ${problem.path}: ${problem.reason}`;
}

/**
 * Checks every collection file of `dir`: `print` gets each problem's line, or one line of summary when there is
 * none; `note` gets the count of problems (the command sends it to stderr, so stdout holds only problem lines).
 * Returns the exit code: 1 when any file has a problem, else 0. `entityModules` (SINK_ENTITIES) are loaded and checked
 * too: an output may name their entities, and the connections (`default` and SPILLWAY_CONNECTIONS) it may write to.
 */
export function validate(
  dir: string,
  print: (line: string) => void,
  note: (line: string) => void = print,
  entityModules: readonly string[] = [],
  connections: readonly string[] = readCommandEnv().connections.map((c) => c.name),
): number {
  const entities = loadEntityModules(entityModules);
  const { collections, problems } = checkCollectionFiles(dir, { entities, connections });
  if (problems.length > 0) {
    problems.forEach((problem) => print(problemLine(problem)));
    note(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}`);

    return 1;
  }
  const outputs = collections.reduce((n, collection) => n + collection.outputs.length, 0);
  print(
    `OK: ${dir}: ${collections.length} collection${collections.length === 1 ? '' : 's'} ` +
      `(${collections.map((c) => c.name).join(', ')}), ${outputs} output table${outputs === 1 ? '' : 's'}`,
  );

  return 0;
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check every collection file; print each problem as "file: path: reason" (exit code 1 if any)')
    .addOption(
      new Option('--dir <folder>', 'folder of collection files')
        .env('COLLECTIONS_DIR')
        .default(DEFAULT_COLLECTIONS_DIR),
    )
    .addOption(
      new Option('--entities <modules>', 'comma-separated compiled modules exporting TypeORM entities').env(
        'SINK_ENTITIES',
      ),
    )
    .action((options: { dir: string; entities?: string }) => {
      // An empty COLLECTIONS_DIR counts as unset, as the apps read it.
      const dir = options.dir === '' ? DEFAULT_COLLECTIONS_DIR : options.dir;
      process.exitCode = validate(
        dir,
        (line) => process.stdout.write(`${line}\n`),
        (line) => process.stderr.write(`${line}\n`),
        splitList(options.entities),
      );
    });
}
