import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { example } from './example.js';
import { describeWithRedis } from './redis-for-tests.js';

it('the README example is the same code as test/example.ts', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
  expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
});

await describeWithRedis('the README example', (url) => {
  it('reads back the session, its subscription and its queued message', async () => {
    expect(await example(url)).toEqual([
      'sensor-1: commands/sensor-1/#',
      '  messages up to seq 1',
      '  1 commands/sensor-1/reboot 00ff',
    ]);
  });
});
