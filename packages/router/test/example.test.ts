import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('prints what its comments say', async () => {
    const print = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { log, results } = await import('./example.js');
    const source = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    const promised = source
      .split('\n')
      .filter((line) => /^\/\/ \S+ <- /.test(line))
      .map((line) => line.slice(3));
    expect(log.toSorted()).toEqual(promised);
    expect(print).toHaveBeenCalledWith(promised.join('\n'));
    expect(results).toEqual([
      { ok: true, deliveries: 2 },
      { ok: true, deliveries: 1 },
      { ok: true, deliveries: 1 },
    ]);
    print.mockRestore();
  });
});
