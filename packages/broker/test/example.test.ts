import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the README example of the Broker API', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('starts on a free port, keeps a retained message, and stops', async () => {
    const { run } = await import('./example.js');
    const { tcp, status, stats } = await run();
    expect(tcp).toBeGreaterThan(0);
    expect(status).toBe('up');
    expect(stats.sessions).toBe(0);
  });
});
