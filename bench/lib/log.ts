/** A progress line on stderr; stdout carries only the usage and the final table. */
export const say = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};
