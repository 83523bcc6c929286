/**
 * A one-line description of the code a benchmark measured: the commit of the checkout, the
 * packages whose sources differ from it, and when the packages were last built.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Describes the checkout at `root` (the repository's top folder). */
export function describeCode(root: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  let text: string;
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'packages/*/src/*')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => /packages\/([^/]+)\//.exec(line)?.[1])
      .filter((name, i, all) => name !== undefined && all.indexOf(name) === i);
    text = `commit ${commit}${dirty.length > 0 ? ` with uncommitted changes in ${dirty.join(', ')}` : ''}`;
  } catch {
    text = 'commit unknown';
  }
  // The newest build output of any package: the code the brokers ran.
  const packagesDir = join(root, 'packages');
  let newest = 0;
  for (const pkg of readdirSync(packagesDir)) {
    const dist = join(packagesDir, pkg, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
      if (file.endsWith('.js')) newest = Math.max(newest, statSync(join(dist, file)).mtimeMs);
    }
  }
  if (newest > 0) text += `; packages built ${new Date(newest).toISOString()}`;
  return text;
}
