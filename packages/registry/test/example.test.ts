import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionEnded, sessionFor } from './example.js';

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('reattaches to a session by client id and assigns ids to empty ones', () => {
    const session = sessionFor('sensor-1');
    if (!('clientId' in session)) throw new Error('refused');
    expect(sessionFor('sensor-1')).toBe(session);
    const assigned = sessionFor('');
    expect('clientId' in assigned && assigned.clientId).toMatch(/^[a-zA-Z0-9]{20}$/);
    expect(sessionFor('bad\u0000id')).toEqual({ refused: expect.stringMatching(/U\+0000/) });
    sessionEnded(session);
    expect(sessionFor('sensor-1')).not.toBe(session);
  });
});
