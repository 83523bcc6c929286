import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A fresh directory for the database files of one test file, removed after its tests. Returns a
 * function that names a new file in it.
 */
export function useTempFiles(prefix: string): () => string {
  const dir = mkdtempSync(join(tmpdir(), `store-sqlite-${prefix}-`));
  let files = 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => join(dir, `db-${files++}.sqlite`);
}
