import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
  vi.resetModules();
});

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('publishes the Will after 5 s and ends the session after 60 s', async () => {
    vi.useFakeTimers();
    const { log, watchdog } = await import('./example.js');
    expect(watchdog.state).toBe('disconnected');
    vi.advanceTimersByTime(5_000);
    expect(log).toEqual(['publish status/sensor-1 as sensor-1']);
    vi.advanceTimersByTime(55_000);
    expect(log).toEqual(['publish status/sensor-1 as sensor-1', 'end: session-expired']);
  });
});
