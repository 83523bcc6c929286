/**
 * Per-client state has limits with safe defaults: subscriptions per session, topic length (see
 * conformance-4-operational), and incoming QoS 2 messages waiting for PUBREL.
 */
import { describe, expect, it } from 'vitest';
import { disconnectedWith } from './conformance-helpers.js';
import { publishPacket, TestClient, testPool } from './helpers.js';

describe('per-client limits', () => {
  it('refuses a subscription past maxSubscriptions with SUBACK 0x97; replacing one and unsubscribing are fine', () => {
    const { pool } = testPool({ session: { maxSubscriptions: 3 } });
    const client = new TestClient(pool);
    client.connect({ clientId: 'many' });
    const subscribe = (topics: string[], messageId: number) => {
      client.send({
        cmd: 'subscribe',
        messageId,
        subscriptions: topics.map((topic) => ({ topic, qos: 0 as const })),
      });
      return client.next('suback').granted;
    };
    expect(subscribe(['a', 'b', 'c', 'd'], 1)).toEqual([0, 0, 0, 0x97]);
    expect(subscribe(['a'], 2)).toEqual([0]); // a replacement, not a new one
    client.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['b'] });
    client.next('unsuback');
    expect(subscribe(['d', 'e'], 4)).toEqual([0, 0x97]);
    expect(pool.routerInfo().subscriptions).toBe(3);
  });

  it('disconnects a client with more than maxAwaitingRelease QoS 2 messages without PUBREL (0x93)', () => {
    const { pool } = testPool({ session: { maxAwaitingRelease: 2 } });
    const client = new TestClient(pool);
    client.connect({ clientId: 'no-pubrel' });
    client.send(publishPacket('q2', '1', 2, { messageId: 1 }));
    client.send(publishPacket('q2', '2', 2, { messageId: 2 }));
    expect(client.drain().map((p) => p.cmd)).toEqual(['pubrec', 'pubrec']);
    client.send(publishPacket('q2', '3', 2, { messageId: 3 }));
    disconnectedWith(client, 0x93);
  });
});
