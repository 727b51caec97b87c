import type { ColumnType, OutputRow, OutputTable, Projection } from '@app/collections';
import type { ChangeEntry } from '@app/contracts';
import { ownerColumn, ownerKey } from './owner-keys';

/** A projection that lands: rows for the outputs, or filtered out of them. */
export type WritableProjection = Exclude<Projection, { kind: 'invalid' }>;

/** A put or event this transaction wrote to the state table, with its projection. */
export interface AppliedChange {
  entry: ChangeEntry;
  projection: WritableProjection;
  /**
   * True when this write created the document's state row: the document had none, so it has no rows in the outputs
   * that follow deletes either, and there is nothing of it to remove there.
   */
  createdState?: boolean;
}

/** How the rows of an {@link OutputWrite} land. */
export type OutputWriteMode =
  /** A row is inserted, or updated when the stored one is older (documents). */
  | 'upsert'
  /** A row is inserted once; a stored key is left alone (events). */
  | 'insert-once';

/**
 * What one batch does to one output table: its rows first, then its removals. A newer version's rows are upserted
 * (the rows it still has are updated in place), so the document's rows still older than that version afterwards are
 * the ones it no longer has.
 */
export interface OutputWrite {
  readonly output: OutputTable;
  readonly mode: OutputWriteMode;
  /** Documents whose rows older than the version go: by the owner column's value (as text) and the version. */
  readonly removals: { readonly ownerKeys: string[]; readonly versions: number[] };
  /** Rows to write, each with its document's version; in 'upsert' mode, one row a key (the last one wins). */
  readonly rows: OutputRow[];
  readonly rowVersions: number[];
  /**
   * For each row, true when its document has no rows in this table: its put created the document's state row, in a
   * table that follows deletes (see {@link AppliedChange.createdState}). A dialect may insert such rows without
   * looking for a stored row first, as no stored row can hold their key.
   */
  readonly rowIsNew: boolean[];
}

/** True when a document's rows can change keys between versions, so they are replaced as a whole. */
const replacesRows = (output: OutputTable): boolean =>
  output.isForeach || output.columns.some((c) => c.isKey && !output.ownerColumns.includes(c.name));

/**
 * Gathers one output table's rows and removals for an {@link OutputWrite}: `add` keeps one row a key in 'upsert' mode
 * (the last one wins), `remove` records a document's owner key with a version.
 */
export class OutputWriteBuilder {
  readonly removals = { ownerKeys: [] as string[], versions: [] as number[] };
  readonly rows: OutputRow[] = [];
  readonly rowVersions: number[] = [];
  readonly rowIsNew: boolean[] = [];
  private readonly ownerType: ColumnType;
  private readonly keyIndexes: number[];
  private readonly rowByKey = new Map<string, number>();

  constructor(
    readonly output: OutputTable,
    readonly mode: OutputWriteMode,
  ) {
    this.ownerType = ownerColumn(output).type;
    this.keyIndexes = output.columns.flatMap((c, i) => (c.isKey ? [i] : []));
  }

  remove(entry: Pick<ChangeEntry, 'id' | 'version'>): void {
    const key = ownerKey(this.ownerType, entry.id);
    if (key !== undefined) {
      this.removals.ownerKeys.push(key);
      this.removals.versions.push(entry.version);
    }
  }

  /** Adds a document's rows at its version; `isNew` when the document has no rows in the table (see `rowIsNew`). */
  add(rows: readonly OutputRow[] | undefined, version: number, isNew = false): void {
    for (const row of rows ?? []) {
      // Rows inserted once, and a new document's rows, keep no key map: the latter's keys hold the document's id (an
      // owner column is a key), a document comes once to a write, and its projection refused a key given twice
      // (OutputRows). Were one repeated all the same, the insert fails and the batch is written again without
      // new rows, through the map below.
      if (this.mode === 'insert-once' || isNew) {
        this.rows.push(row);
        this.rowVersions.push(version);
        this.rowIsNew.push(isNew);
        continue;
      }
      // One statement cannot update a row twice (PostgreSQL: "cannot affect row a second time"): a key given twice,
      // by two elements of one array for instance, keeps its last row. Values joined by NUL, which no database text
      // holds; 1 and "1" are one key, as the database reads them.
      const key = this.keyOf(row);
      const at = this.rowByKey.get(key);
      if (at === undefined) {
        this.rowByKey.set(key, this.rows.length);
        this.rows.push(row);
        this.rowVersions.push(version);
        this.rowIsNew.push(isNew);
      } else {
        this.rows[at] = row;
        this.rowVersions[at] = version;
        this.rowIsNew[at] = isNew;
      }
    }
  }

  /** A row's key: its key columns' values joined by NUL, without an array of them. */
  private keyOf(row: OutputRow): string {
    let key = '';
    for (let k = 0; k < this.keyIndexes.length; k++) {
      key += k === 0 ? String(row[this.keyIndexes[k] as number]) : `\u0000${String(row[this.keyIndexes[k] as number])}`;
    }

    return key;
  }

  build(): OutputWrite | undefined {
    return this.rows.length + this.removals.ownerKeys.length > 0 ? this : undefined;
  }
}

/**
 * What the applied puts and the deletes of a batch do to each output table, in the order of `outputs`:
 * - a put's rows are upserted; where rows are replaced as a whole (foreach, or keys beyond the document id), the
 *   document's rows older than the put are removed after that, so an element gone from the array takes its row with
 *   it;
 * - a put the filter keeps out removes the document's rows from every output, those that keep rows on delete
 *   (`exclude_ops: [delete]`) included: they keep what was deleted, never an outdated copy of a live document;
 * - a delete removes the document's older rows, except from outputs that keep rows on delete. Every delete of the
 *   batch is sent, applied or not: the version guard keeps the rows of a newer version.
 * A put that created the document's state row removes nothing from the outputs that follow deletes: the document
 * had no rows there (in a drain of new documents that is most puts, and a removal costs an index probe each). Its rows
 * are marked new (`rowIsNew`), so a dialect may insert them without a conflict check, unless `newRows` is false:
 * a writer whose insert of new rows met a stored key (an output table written by someone else) writes them again
 * with `newRows` false, so that the version guard decides for them as for the rest.
 */
export function documentOutputWrites(
  outputs: readonly OutputTable[],
  applied: readonly AppliedChange[],
  deletes: readonly ChangeEntry[],
  { newRows = true }: { newRows?: boolean } = {},
): OutputWrite[] {
  return outputs.flatMap((output, index) => {
    const write = new OutputWriteBuilder(output, 'upsert');
    const replaces = replacesRows(output);
    const followsDeletes = !output.excludeOps.includes('delete');
    for (const { entry, projection, createdState } of applied) {
      const hasRows = !(createdState === true && followsDeletes);
      if (projection.kind === 'filtered') {
        if (hasRows) {
          write.remove(entry);
        }
      } else {
        if (replaces && hasRows) {
          write.remove(entry);
        }
        write.add(projection.rows[index], entry.version, newRows && !hasRows);
      }
    }
    if (followsDeletes) {
      deletes.forEach((entry) => write.remove(entry));
    }

    return write.build() ?? [];
  });
}

/** The rows of events inserted into the state table by this transaction, inserted once into each output table. */
export function eventOutputWrites(outputs: readonly OutputTable[], inserted: readonly AppliedChange[]): OutputWrite[] {
  return outputs.flatMap((output, index) => {
    const write = new OutputWriteBuilder(output, 'insert-once');
    for (const { entry, projection } of inserted) {
      if (projection.kind === 'rows') {
        write.add(projection.rows[index], entry.version);
      }
    }

    return write.build() ?? [];
  });
}
