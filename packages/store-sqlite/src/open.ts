import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Clock } from '@mqtt-sessions/protocol';
import Database from 'better-sqlite3';
import {
  StoreIncompatibleError,
  StoreLockedError,
  StoreNotWritableError,
  type StoreOwner,
} from './errors.js';
import { type SqliteRetainOptions, SqliteRetainStore } from './retain-store.js';
import { prepareSchema } from './schema.js';
import { SqliteSessionStore, type StoreHost } from './session-store.js';

/**
 * How durably a committed transaction is stored. In both modes the database runs in WAL mode, and
 * a transaction is atomic and the file consistent whatever happens.
 *
 * - `'normal'` (`PRAGMA synchronous = NORMAL`): a commit appends to the WAL file without waiting
 *   for the disk. A transaction that committed survives the process crashing or being killed
 *   (`kill -9`): the operating system has it and writes it. A power loss or an operating system
 *   crash may lose the transactions committed since the last checkpoint; the file stays
 *   consistent, at an earlier transaction.
 * - `'full'` (`PRAGMA synchronous = FULL`): each commit also waits for the WAL file to reach the
 *   disk (fsync; F_FULLFSYNC on macOS). A transaction that committed survives power loss too,
 *   provided the disk honours the flush. Each commit costs a disk flush.
 */
export type SqliteDurability = 'normal' | 'full';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file. Its directory is created if missing. SQLite puts the `-wal` file beside
   * it, and this store a `-owner` file naming the process that holds it.
   */
  file: string;
  /** Default `'normal'`; see {@link SqliteDurability}. */
  durability?: SqliteDurability;
  /** The clock of the retained store: `storedAt` and expiry. Default `Date.now`. */
  clock?: Clock;
  /** Options of the retained store. */
  retain?: SqliteRetainOptions;
}

/** An open database file with the session store and the retained store in it. */
export interface SqliteStore {
  /** The database file, as an absolute path. */
  readonly file: string;
  readonly durability: SqliteDurability;
  /** The sessions: pass it to the pool as its session store. */
  readonly sessions: SqliteSessionStore;
  /** The retained messages: pass it to the pool as its retained store. */
  readonly retain: SqliteRetainStore;
  /**
   * Closes both stores and the database, and releases the lock. Idempotent. (Closing both stores
   * one by one does the same.)
   */
  close(): void;
}

/** The file name a broker uses in its data directory. */
export const DEFAULT_SQLITE_FILE_NAME = 'mqtt-sessions.sqlite';

/**
 * Opens (or creates) a database file holding sessions and retained messages, in WAL mode, and
 * takes an exclusive lock on it for as long as it is open: a second opener, in this process or
 * another, is refused at once with a {@link StoreLockedError}. The operating system releases the
 * lock when the process ends, however it ends, so a crash leaves no stale lock behind.
 *
 * @throws StoreLockedError when another connection holds the database.
 * @throws StoreNotWritableError when the file or its directory cannot be created or written.
 * @throws StoreIncompatibleError when the file is not a database of this package, or of a newer
 *   schema version.
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const file = resolve(options.file);
  const durability = options.durability ?? 'normal';
  if (durability !== 'normal' && durability !== 'full') {
    throw new TypeError(`durability must be 'normal' or 'full', got ${String(durability)}`);
  }
  checkDirectory(file);
  let db: Database.Database;
  try {
    // timeout 0: a locked database fails at once instead of waiting for its holder.
    db = new Database(file, { timeout: 0 });
  } catch (error) {
    throw translate(error, file);
  }
  try {
    // EXCLUSIVE before WAL: SQLite then takes an exclusive lock on the file as it enters WAL mode,
    // keeps the WAL index in this process's memory instead of a shared -shm file, and holds the
    // lock until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') {
      throw new StoreNotWritableError(file, `SQLite could not enter WAL mode (it is in ${mode})`);
    }
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    if (durability === 'full') {
      // macOS only: fsync there does not flush the drive's cache; F_FULLFSYNC does.
      db.pragma('fullfsync = ON');
      db.pragma('checkpoint_fullfsync = ON');
    }
    prepareSchema(db, file);
  } catch (error) {
    db.close();
    throw translate(error, file);
  }
  const ownerFile = `${file}-owner`;
  writeOwner(ownerFile);
  let open = 2;
  const host: StoreHost = {
    db,
    release() {
      open--;
      if (open > 0) return;
      removeOwner(ownerFile);
      db.close();
    },
  };
  let sessions: SqliteSessionStore;
  let retain: SqliteRetainStore;
  try {
    sessions = new SqliteSessionStore(host);
    retain = new SqliteRetainStore(host, options.clock, options.retain);
  } catch (error) {
    removeOwner(ownerFile);
    db.close();
    throw error;
  }
  return {
    file,
    durability,
    sessions,
    retain,
    close() {
      sessions.close();
      retain.close();
    },
  };
}

/** Creates the directory if missing, and checks that a file can be created in it. */
function checkDirectory(file: string): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? `a part of ${dir} is a file, not a directory`
        : `its directory cannot be created (${reason(error)})`;
    throw new StoreNotWritableError(file, why, error);
  }
  // A real write tells more than access(2), which says yes to root on a read-only directory.
  const probe = join(dir, `.mqtt-sessions-probe-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (error) {
    throw new StoreNotWritableError(
      file,
      `no file can be created in ${dir} (${reason(error)})`,
      error,
    );
  }
  unlinkSync(probe);
}

/** A SQLite or file system error as one of this package's errors, or as it is. */
function translate(error: unknown, file: string): unknown {
  if (error instanceof StoreNotWritableError || error instanceof StoreIncompatibleError) {
    return error;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new StoreLockedError(file, readOwner(`${file}-owner`), error);
  }
  if (
    code === 'SQLITE_CANTOPEN' ||
    code.startsWith('SQLITE_CANTOPEN_') ||
    code === 'SQLITE_READONLY' ||
    code.startsWith('SQLITE_READONLY_') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_FULL' ||
    code.startsWith('SQLITE_IOERR')
  ) {
    return new StoreNotWritableError(file, reason(error), error);
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreIncompatibleError(
      file,
      `it is not a SQLite database, or a damaged one (${reason(error)})`,
      error,
    );
  }
  return error;
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}

/** Writes who holds the lock, for the error a second opener gets. Best effort. */
function writeOwner(ownerFile: string): void {
  const owner: StoreOwner = {
    pid: process.pid,
    hostname: hostname(),
    since: new Date().toISOString(),
  };
  try {
    writeFileSync(ownerFile, `${JSON.stringify(owner)}\n`);
  } catch {
    // Only the error message of a second opener would miss it.
  }
}

function readOwner(ownerFile: string): StoreOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as Partial<StoreOwner>;
    if (typeof owner.pid !== 'number' || typeof owner.hostname !== 'string') return undefined;
    return { pid: owner.pid, hostname: owner.hostname, since: String(owner.since) };
  } catch {
    return undefined;
  }
}

function removeOwner(ownerFile: string): void {
  try {
    unlinkSync(ownerFile);
  } catch {
    // Already gone, or the directory went read-only: the next holder overwrites it.
  }
}
