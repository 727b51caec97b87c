import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The last deleted version of a document, kept so that a late redelivery of an older version
 * can never bring the row back. Pruned once no older entry can still arrive.
 */
@Entity({ name: 'spillway_tombstones' })
export class TombstoneEntity {
  @PrimaryColumn({ type: 'text' })
  collection!: string;

  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'bigint' })
  version!: string;

  /** Milliseconds part of the stream entry id of the delete: pruning compares it with the oldest unacked entry. */
  @Column({ type: 'bigint', name: 'stream_ms' })
  streamMs!: string;

  @Column({ type: 'timestamptz', name: 'deleted_at' })
  deletedAt!: Date;
}
