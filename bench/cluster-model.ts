// npx tsx bench/cluster-model.ts bench/results/<date>-cluster.json: prints the model's tables (bench/lib/cluster-model.ts)
// from the unit costs a `npm run bench -- --cluster` run measured, as bench/README.md shows them.
import { readFileSync } from 'node:fs';
import { costsLine, modelTables } from './lib/cluster-model';
import type { ClusterBenchResults } from './lib/cluster-results';

function main(): number {
  const [file] = process.argv.slice(2);
  if (!file || file === '--help' || file === '-h') {
    process.stdout.write('Usage: npx tsx bench/cluster-model.ts bench/results/<date>-cluster.json\n');

    return file ? 0 : 2;
  }
  const results = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterBenchResults>;
  if (!results.costs) {
    process.stderr.write(`${file} has no unit costs: is it the results of a complete npm run bench -- --cluster?\n`);

    return 1;
  }
  process.stdout.write(`${costsLine(results.costs)}.\n\n${modelTables(results.costs)}`);

  return 0;
}

process.exitCode = main();
