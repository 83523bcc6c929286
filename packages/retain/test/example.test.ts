import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('delivers the two temperatures, not $SYS, and ends with two messages', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { delivered, store } = await import('./example.js');
    expect(delivered.sort()).toEqual([
      'home/hall/temperature = 19.0',
      'home/kitchen/temperature = 21.5',
    ]);
    expect(store.count()).toBe(2);
    expect(log).toHaveBeenCalledWith(store.stats());
    log.mockRestore();
  });
});
