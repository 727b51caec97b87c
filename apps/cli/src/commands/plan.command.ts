import { type Command, Option } from 'commander';
import { loadCollections, loadEntityModules } from '@app/collections';
import { readCommandEnv } from '@app/config';
import { createSpillwayDataSource, planSchema, type SchemaPlan } from '@app/persistence';

/** Exit codes of `spillway plan`. */
export enum PlanExit {
  NOTHING_TO_RUN = 0,
  FAILED_OR_REFUSED = 1,
  DDL_TO_RUN = 2,
}

/** The plan as a SQL script: the statements a sink would run, each ending with `;`, and the rest as comments. */
export function planLines(plan: SchemaPlan): string[] {
  return [
    ...plan.pendingMigrations.map((name) => `-- Spillway's migration ${name} runs first`),
    ...plan.allowed.map((statement) => `${statement.sql.trim()};`),
    ...plan.leftAlone.map(
      (statement) => `-- left alone (no collection file describes it; never run): ${statement.sql}`,
    ),
    ...plan.refused.map((statement) => `-- refused: ${statement.reason}`),
  ];
}

/** The exit code for a plan: refused first, then anything to run. */
export function planExit(plan: SchemaPlan): PlanExit {
  if (plan.refused.length > 0) {
    return PlanExit.FAILED_OR_REFUSED;
  }

  return plan.pendingMigrations.length + plan.allowed.length > 0 ? PlanExit.DDL_TO_RUN : PlanExit.NOTHING_TO_RUN;
}

/** Plans the schema of the collections of `dir` against `databaseUrl`, prints it, returns the exit code. */
export async function plan(
  settings: { dir: string; databaseUrl: string; entityModules?: readonly string[] },
  print: (line: string) => void,
  note: (line: string) => void,
): Promise<PlanExit> {
  const collections = loadCollections(settings.dir, { entities: loadEntityModules(settings.entityModules ?? []) });
  const dataSource = createSpillwayDataSource({ url: settings.databaseUrl, poolSize: 1 });
  await dataSource.initialize();
  try {
    const schemaPlan = await planSchema(dataSource, collections);
    planLines(schemaPlan).forEach(print);
    const { pendingMigrations, allowed, refused, leftAlone } = schemaPlan;
    note(
      `${pendingMigrations.length} migrations and ${allowed.length} statements to run, ${refused.length} refused, ` +
        `${leftAlone.length} left alone (${collections.length} collections in ${settings.dir})`,
    );

    return planExit(schemaPlan);
  } finally {
    await dataSource.destroy();
  }
}

export function registerPlanCommand(program: Command): void {
  const defaults = readCommandEnv({});
  program
    .command('plan')
    .description(
      'print the DDL a sink would run now against DATABASE_URL for the collection files, one statement a line ' +
        'ending with ";", then what it refuses (a drop, rename or retype) and why, as comments',
    )
    .addOption(
      new Option(
        '--dir <folder>',
        `folder of collection files (default: COLLECTIONS_DIR, else ${defaults.collectionsDir})`,
      ),
    )
    // The URL may hold a password: the help names the variable rather than printing its value.
    .addOption(
      new Option(
        '--database-url <url>',
        `PostgreSQL to compare with (default: DATABASE_URL, else ${defaults.databaseUrl})`,
      ),
    )
    .addHelpText(
      'after',
      '\nExit codes:\n  0  nothing to run\n  2  DDL to run (a sink would run it at start)\n' +
        '  1  a statement is refused (a sink would stop), or the files or the database could not be read',
    )
    .action(async (options: { dir?: string; databaseUrl?: string }) => {
      const env = readCommandEnv();
      process.exitCode = await plan(
        {
          dir: options.dir ?? env.collectionsDir,
          databaseUrl: options.databaseUrl ?? env.databaseUrl,
          entityModules: env.entityModules,
        },
        (line) => process.stdout.write(`${line}\n`),
        (line) => process.stderr.write(`${line}\n`),
      );
    });
}
