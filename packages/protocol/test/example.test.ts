import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { doubled, forwardedInterval, pubackMayCarry, returnCode } from './example.js';

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('gives the values its comments say', () => {
    expect(pubackMayCarry).toBe(true);
    expect(returnCode).toBe(5);
    expect(forwardedInterval).toBe(40);
    expect(doubled).toBe(42);
  });
});
