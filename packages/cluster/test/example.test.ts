import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWithRedis } from '../../session-store-redis/test/redis-for-tests.js';
import { example } from './example.js';

it('the README example is the same code as test/example.ts', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
  expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
});

await describeWithRedis('the README example', (url) => {
  it('delivers an alert published on one broker to a subscriber of the other', async () => {
    expect(await example(url)).toEqual(['alerts/fire: hall']);
  });
});
