import { CreateMariadbTombstones1765000000000 } from './1765000000000-create-tombstones';
import { CreateMariadbLockSlots1765000100000 } from './1765000100000-create-lock-slots';

/** Spillway's own tables on MariaDB and MySQL, in order: for the data source's `migrations`. */
export const mariadbMigrations = [CreateMariadbTombstones1765000000000, CreateMariadbLockSlots1765000100000];
