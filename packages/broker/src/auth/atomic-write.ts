import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces a file's contents atomically: readers see the old file or the new one, never half of
 * one, even if the process dies mid-write. The new file is written next to the old (a rename
 * is only atomic within one file system), flushed to disk, then renamed over it.
 *
 * @param mode The new file's permission bits (set explicitly, so no umask can widen or keep them).
 */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse something already at the temporary name.
  const handle = await open(temporary, 'wx', mode);
  try {
    try {
      await handle.chmod(mode);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}
