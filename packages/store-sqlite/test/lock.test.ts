import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  openSqliteStore,
  SqliteStoreError,
  StoreIncompatibleError,
  StoreLockedError,
  StoreNotWritableError,
} from '../src/index.js';
import { exitOf, lineFrom, runFixture } from './child.js';
import { useTempFiles } from './temp-dir.js';

const newFile = useTempFiles('lock');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function catchError(open: () => unknown): unknown {
  try {
    open();
  } catch (error) {
    return error;
  }
  throw new Error('expected the open to fail');
}

describe('one holder at a time', () => {
  it('refuses a second open in the same process, and allows it once the first is closed', () => {
    const file = newFile();
    const first = openSqliteStore({ file });
    const started = Date.now();
    const error = catchError(() => openSqliteStore({ file }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toBeInstanceOf(SqliteStoreError);
    expect((error as StoreLockedError).code).toBe('STORE_LOCKED');
    expect((error as StoreLockedError).file).toBe(file);
    expect((error as StoreLockedError).owner?.pid).toBe(process.pid);
    expect((error as Error).message).toContain('locked by another open store of this process');
    // The refused open changed nothing: the first store works on.
    first.retain.set({ topic: 'a', payload: Buffer.from('1'), qos: 0 });
    first.close();
    const second = openSqliteStore({ file });
    expect(second.retain.get('a')?.payload.toString()).toBe('1');
    second.close();
  });

  it('closing both stores one by one releases the lock, as close() does', () => {
    const file = newFile();
    const first = openSqliteStore({ file });
    first.sessions.close();
    expect(() => openSqliteStore({ file })).toThrow(StoreLockedError);
    first.retain.close();
    const second = openSqliteStore({ file });
    second.close();
    second.close(); // idempotent
    expect(() => second.sessions.count('p')).toThrow(/closed/);
    expect(() => second.retain.count()).toThrow(/closed/);
  });

  it('refuses a file another process holds, at once, naming that process; a kill -9 leaves no stale lock', async () => {
    const file = newFile();
    const child = runFixture('hold.ts', [file]);
    children.push(child);
    await lineFrom(child, 'ready');
    const started = Date.now();
    const error = catchError(() => openSqliteStore({ file }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect((error as StoreLockedError).owner?.pid).toBe(child.pid);
    expect((error as Error).message).toMatch(
      new RegExp(`locked by process ${child.pid} on .+: only one broker may use a data directory`),
    );
    child.kill('SIGKILL');
    expect((await exitOf(child)).signal).toBe('SIGKILL');
    const store = openSqliteStore({ file });
    expect(store.retain.get('held/by')?.payload.toString()).toBe(String(child.pid));
    store.close();
  }, 30_000);

  it('a plain SQLite connection cannot read the file while a store holds it', () => {
    const file = newFile();
    const store = openSqliteStore({ file });
    const reader = new Database(file, { timeout: 0 });
    expect(() => reader.prepare('SELECT count(*) FROM retained').get()).toThrow(/locked/);
    reader.close();
    store.close();
  });
});

describe('files that cannot be used', () => {
  it('refuses a path below a regular file', () => {
    const file = newFile();
    writeFileSync(file, 'not a directory');
    const error = catchError(() => openSqliteStore({ file: join(file, 'db.sqlite') }));
    expect(error).toBeInstanceOf(StoreNotWritableError);
    expect((error as StoreNotWritableError).code).toBe('STORE_NOT_WRITABLE');
    expect((error as Error).message).toMatch(
      /cannot be written: a part of .+ is a file, not a directory/,
    );
  });

  it('refuses a directory in which no file can be created', () => {
    let dir: string;
    if (process.getuid?.() === 0) {
      // root writes through permission bits, but not into /proc.
      if (process.platform !== 'linux') return;
      dir = '/proc/self';
    } else {
      dir = join(dirname(newFile()), 'read-only');
      mkdirSync(dir, { mode: 0o555 });
    }
    const error = catchError(() => openSqliteStore({ file: join(dir, 'db.sqlite') }));
    expect(error).toBeInstanceOf(StoreNotWritableError);
    expect((error as Error).message).toContain(`no file can be created in ${dir}`);
  });

  it('creates a missing directory', () => {
    const file = join(dirname(newFile()), 'new', 'dir', 'db.sqlite');
    const store = openSqliteStore({ file });
    expect(store.file).toBe(file);
    store.close();
  });

  it('refuses a file that is not a SQLite database', () => {
    const file = newFile();
    writeFileSync(file, 'x'.repeat(4096));
    const error = catchError(() => openSqliteStore({ file }));
    expect(error).toBeInstanceOf(StoreIncompatibleError);
    expect((error as StoreIncompatibleError).code).toBe('STORE_INCOMPATIBLE');
  });

  it("refuses another application's database, and a newer schema", () => {
    const other = newFile();
    const db = new Database(other);
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY)');
    db.close();
    expect(() => openSqliteStore({ file: other })).toThrow(/tables of another application/);

    const newer = newFile();
    openSqliteStore({ file: newer }).close();
    const raw = new Database(newer);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openSqliteStore({ file: newer })).toThrow(
      /schema version 99 is newer than this version reads/,
    );
  });

  it('refuses an unknown durability', () => {
    expect(() => openSqliteStore({ file: newFile(), durability: 'sometimes' as 'normal' })).toThrow(
      TypeError,
    );
  });
});
