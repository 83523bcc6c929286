import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answer, runtime } from './example.js';

describe('the README usage example', () => {
  it('is the same code in the README as in test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('accepts the anonymous client and maps the vhost', async () => {
    expect(answer).toMatchObject({ type: 'connack', reasonCode: 0, sessionPresent: false });
    expect(await runtime.vhostPool('example.com')).toEqual({ ok: true, pool: 'example' });
    expect(await runtime.vhostPool('other.com')).toMatchObject({ ok: false });
  });
});
