export {
  SqliteStoreError,
  type SqliteStoreErrorCode,
  StoreIncompatibleError,
  StoreLockedError,
  StoreNotWritableError,
  type StoreOwner,
} from './errors.js';
export {
  DEFAULT_SQLITE_FILE_NAME,
  openSqliteStore,
  type SqliteDurability,
  type SqliteStore,
  type SqliteStoreOptions,
} from './open.js';
export { type SqliteRetainOptions, SqliteRetainStore } from './retain-store.js';
export { SqliteSessionStore } from './session-store.js';
