import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { example } from './example.js';
import { useTempFiles } from './temp-dir.js';

const newFile = useTempFiles('example');

it('the README example is the same code as test/example.ts', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
  expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
});

it('the README example keeps the session and the retained message, and refuses a second open', () => {
  expect(example(newFile())).toEqual([
    'STORE_LOCKED',
    'commands/sensor-1/#',
    'status/sensor-1 = online',
  ]);
});
