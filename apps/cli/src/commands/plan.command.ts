import type { Command } from 'commander';
import { loadCollections, loadEntityModules } from '@app/collections';
import { readCommandEnv } from '@app/config';
import { collectionsIn, createSpillwayDataSource, planSchema, type SchemaPlan } from '@app/persistence';
import { type ConnectionTarget, connectionTargets, withDatabaseOptions } from './connection-targets';

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

/** The worse of two exits: a refusal, then DDL to run, then nothing. */
const worse = (a: PlanExit, b: PlanExit): PlanExit =>
  a === PlanExit.FAILED_OR_REFUSED || b === PlanExit.FAILED_OR_REFUSED ? PlanExit.FAILED_OR_REFUSED : Math.max(a, b);

/**
 * Plans the schema of the collections of `dir` in each connection's database (its state tables and the outputs naming
 * it), prints it (under a `-- connection <name>` line when there are several), returns the worst exit code.
 */
export async function plan(
  settings: { dir: string; targets: readonly ConnectionTarget[]; entityModules?: readonly string[] },
  print: (line: string) => void,
  note: (line: string) => void,
): Promise<PlanExit> {
  const connections = settings.targets.map((t) => t.name);
  const all = loadCollections(settings.dir, { entities: loadEntityModules(settings.entityModules ?? []), connections });
  let exit = PlanExit.NOTHING_TO_RUN;
  for (const target of settings.targets) {
    const collections = collectionsIn(all, target.name);
    const dataSource = createSpillwayDataSource({ url: target.url, poolSize: 1 });
    await dataSource.initialize();
    try {
      const schemaPlan = await planSchema(dataSource, collections);
      if (settings.targets.length > 1) {
        print(`-- connection ${target.name}`);
      }
      planLines(schemaPlan).forEach(print);
      const { pendingMigrations, allowed, refused, leftAlone } = schemaPlan;
      note(
        `${target.name}: ${pendingMigrations.length} migrations and ${allowed.length} statements to run, ` +
          `${refused.length} refused, ${leftAlone.length} left alone (${collections.length} collections in ${settings.dir})`,
      );
      exit = worse(exit, planExit(schemaPlan));
    } finally {
      await dataSource.destroy();
    }
  }

  return exit;
}

export function registerPlanCommand(program: Command): void {
  withDatabaseOptions(
    program
      .command('plan')
      .description(
        'print the DDL a sink would run now in each database (DATABASE_URL, and each of SPILLWAY_CONNECTIONS) for the ' +
          'collection files, one statement a line ending with ";", then what it refuses (a drop, rename or retype) and ' +
          'why, as comments',
      ),
  )
    .addHelpText(
      'after',
      '\nExit codes:\n  0  nothing to run\n  2  DDL to run (a sink would run it at start)\n' +
        '  1  a statement is refused (a sink would stop), or the files or the database could not be read',
    )
    .action(async (options: { dir?: string; databaseUrl?: string; connection?: string }) => {
      const env = readCommandEnv();
      process.exitCode = await plan(
        {
          dir: options.dir ?? env.collectionsDir,
          targets: connectionTargets(env, options),
          entityModules: env.entityModules,
        },
        (line) => process.stdout.write(`${line}\n`),
        (line) => process.stderr.write(`${line}\n`),
      );
    });
}
