import { Command } from 'commander';
import { registerPlanCommand } from './commands/plan.command';
import { registerReprojectCommand } from './commands/reproject.command';
import { registerValidateCommand } from './commands/validate.command';

/**
 * The `spillway` command line. Each command is one file under commands/ that exports `register<Name>Command(program)`
 * and is registered here with one line. Commands are plain functions over the libs, without Nest's dependency
 * injection, so they run under tsx as they do bundled; they set process.exitCode rather than exiting.
 */
export function spillwayProgram(): Command {
  const program = new Command('spillway')
    .description('Spillway, a write-behind pipeline from Redis to PostgreSQL, MariaDB and MySQL: checks and operations')
    .showHelpAfterError();
  registerValidateCommand(program);
  registerPlanCommand(program);
  registerReprojectCommand(program);

  return program;
}
