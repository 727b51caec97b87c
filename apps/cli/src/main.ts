import { spillwayProgram } from './cli.program';

spillwayProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`spillway: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
