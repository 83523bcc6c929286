/** Why a SQLite store could not be opened. */
export type SqliteStoreErrorCode = 'STORE_LOCKED' | 'STORE_NOT_WRITABLE' | 'STORE_INCOMPATIBLE';

/**
 * A database file that cannot be used: locked by another process, not writable, or written by an
 * incompatible version. A broker reports it and exits instead of running without its store.
 */
export class SqliteStoreError extends Error {
  /** What went wrong, for programs: see {@link SqliteStoreErrorCode}. */
  readonly code: SqliteStoreErrorCode;
  /** The database file, as an absolute path. */
  readonly file: string;

  constructor(code: SqliteStoreErrorCode, file: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SqliteStoreError';
    this.code = code;
    this.file = file;
  }
}

/** What the holder of a locked database wrote about itself when it took the lock. */
export interface StoreOwner {
  readonly pid: number;
  readonly hostname: string;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
}

/**
 * Another connection holds the database: another process (a second broker on the same data
 * directory), or another open store in this process. The holder keeps the lock until it closes
 * or dies; the operating system releases it when the process ends, `kill -9` included.
 */
export class StoreLockedError extends SqliteStoreError {
  /** What the holder wrote about itself, when it could be read. */
  readonly owner: StoreOwner | undefined;

  constructor(file: string, owner: StoreOwner | undefined, cause?: unknown) {
    const holder =
      owner === undefined
        ? 'another process, or another open store of this one'
        : owner.pid === process.pid
          ? `another open store of this process (since ${owner.since})`
          : `process ${owner.pid} on ${owner.hostname} (since ${owner.since})`;
    super(
      'STORE_LOCKED',
      file,
      `the database ${file} is locked by ${holder}: only one broker may use a data directory at a time`,
      cause,
    );
    this.name = 'StoreLockedError';
    this.owner = owner;
  }
}

/** The database file or its directory cannot be created, opened or written. */
export class StoreNotWritableError extends SqliteStoreError {
  constructor(file: string, reason: string, cause?: unknown) {
    super('STORE_NOT_WRITABLE', file, `the database ${file} cannot be written: ${reason}`, cause);
    this.name = 'StoreNotWritableError';
  }
}

/** The file is not a database of this package, or one of a newer schema version. */
export class StoreIncompatibleError extends SqliteStoreError {
  constructor(file: string, reason: string, cause?: unknown) {
    super('STORE_INCOMPATIBLE', file, `the database ${file} cannot be used: ${reason}`, cause);
    this.name = 'StoreIncompatibleError';
  }
}
