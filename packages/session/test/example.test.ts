import { readFileSync } from 'node:fs';
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it, vi } from 'vitest';

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('routes bob’s message to alice and acknowledges it', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { alice, bob } = await import('./example.js');
    expect(log.mock.calls).toEqual([[['connack', 'suback', 'publish']], [['connack', 'puback']]]);
    const message = alice.received[2] as IPublishPacket;
    expect(message).toMatchObject({ topic: 'chat/general', qos: 1 });
    expect(message.payload.toString()).toBe('hi');
    expect(bob.received[1]).toMatchObject({ cmd: 'puback', messageId: 7, reasonCode: 0 });
    expect(alice.session.stats()).toMatchObject({ connected: true, inflight: 1 });
    log.mockRestore();
  });
});
