import type { ClientBase, Connection, Submittable } from 'pg';

/** CopyDone: the frontend's end of the COPY data. */
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

/** A CopyData message's header: its type and its length, which counts the length field and the data. */
function copyDataHeader(dataBytes: number): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.writeUInt8(0x64, 0);
  header.writeUInt32BE(dataBytes + 4, 1);

  return header;
}

/**
 * `COPY … FROM STDIN` sent together with all of its data and its end in one socket write, as a node-postgres
 * submittable. A streaming COPY (pg-copy-streams) sends the statement, waits for the server's CopyInResponse, then
 * sends the data: two round trips and three writes a batch. Sent at once, batches of 500 events went in 8% faster
 * for the same CPU (`bench/batch-write.ts events`, bench/README.md). The protocol allows it: when the COPY fails
 * before or during the data, the server answers ErrorResponse and ReadyForQuery and drops the CopyData and CopyDone
 * that follow ("any subsequent CopyData, CopyDone, or CopyFail messages issued by the frontend will simply be
 * dropped", the protocol's COPY operations).
 */
class CopyInAtOnce implements Submittable {
  /** Set by node-postgres' query timeout too, which wraps it; called once. */
  callback?: (error: Error | null, rowCount?: number) => void;
  private rowCount = 0;
  private settled = false;

  constructor(
    private readonly copy: string,
    private readonly data: Buffer,
  ) {}

  submit(connection: Connection): void {
    const { stream } = connection;
    stream.cork();
    connection.query(this.copy);
    stream.write(copyDataHeader(this.data.length));
    stream.write(this.data);
    stream.write(COPY_DONE);
    stream.uncork();
  }

  /** The data went with the statement. */
  handleCopyInResponse(): void {}

  handleCommandComplete(message: { text?: string }): void {
    this.rowCount = Number(/^COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
  }

  handleReadyForQuery(): void {
    this.settle(null);
  }

  handleError(error: Error): void {
    this.settle(error);
  }

  private settle(error: Error | null): void {
    if (!this.settled) {
      this.settled = true;
      this.callback?.(error, this.rowCount);
    }
  }
}

/**
 * Runs `COPY … FROM STDIN` with `data` (in the COPY's format) as its input, in one write (see {@link CopyInAtOnce});
 * resolves to the rows copied, rejects with the server's error, after which the client is ready for the next query.
 */
export function copyIn(client: ClientBase, copy: string, data: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const query = new CopyInAtOnce(copy, Buffer.from(data));
    query.callback = (error, rowCount) => (error ? reject(error) : resolve(rowCount ?? 0));
    client.query(query);
  });
}
