import cliProgress from 'cli-progress';

/** Lines every this often when stderr is not a terminal. */
const LINE_EVERY_MS = 5000;

const n = (value: number): string => value.toLocaleString('en-US');

/** Progress of a reprojection on stderr: a bar on a terminal, else a plain line every few seconds. */
export interface ReprojectionProgress {
  update(walked: number): void;
  stop(): void;
}

export function startReprojectionProgress(collection: string, total: number): ReprojectionProgress {
  const stream = process.stderr;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `reproject ${collection} {bar} {percentage}% | {value}/{total} documents | {eta_formatted} left`,
        formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? n(value) : String(value)),
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    // Documents written since the count was taken can make the walk longer than the total.
    bar.start(total, 0);

    return {
      update: (walked) => bar.update(Math.min(walked, total)),
      stop: () => bar.stop(),
    };
  }
  let lastLine = Date.now();

  return {
    update: (walked) => {
      if (Date.now() - lastLine >= LINE_EVERY_MS) {
        lastLine = Date.now();
        const percent = total > 0 ? ` (${Math.min(100, Math.floor((walked * 100) / total))}%)` : '';
        stream.write(`reproject ${collection}: ${n(walked)}/${n(total)} documents${percent}\n`);
      }
    },
    stop: () => undefined,
  };
}
