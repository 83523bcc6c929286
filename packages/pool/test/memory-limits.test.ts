/**
 * Memory bounded in bytes: a session's queue is capped in bytes as well as in messages, and all
 * sessions together hold no more than a budget; past it, load is shed in a documented order, and
 * nothing that was acknowledged is dropped.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { publishPacket, subscribe, TestClient, testPool } from './helpers.js';

const BIG = Buffer.alloc(64 * 1024, 0x62);

function offlineSubscriber(pool: ReturnType<typeof testPool>['pool'], clientId: string) {
  const client = new TestClient(pool);
  client.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 600 } });
  subscribe(client, 'big/#', 1);
  client.drop();
}

describe('memory limits in bytes', () => {
  it('caps a session queue in bytes: the oldest QoS 0 goes first, then new messages are dropped, each counted', () => {
    const { pool } = testPool({ session: { maxQueuedBytes: 200 * 1024 } });
    offlineSubscriber(pool, 'slow');
    for (let i = 0; i < 10; i++) void pool.serverPublish('big/x', BIG, { qos: 1 });
    const session = pool.sessionStats().find((s) => s.clientId === 'slow');
    expect(session?.queued).toBe(3); // three of 64 KiB fit in 200 KiB
    expect(pool.host.metrics.droppedByReason['queue-full']).toBe(7);
  });

  it('past the budget of all sessions, refuses new QoS 1 PUBLISH with 0x97 and queues no QoS 0; nothing acknowledged is lost', () => {
    const { pool } = testPool({ queueBudget: 300 * 1024 });
    offlineSubscriber(pool, 'away');
    const publisher = new TestClient(pool);
    publisher.connect({ clientId: 'pub' });
    const codes: number[] = [];
    for (let i = 1; i <= 8; i++) {
      publisher.send(publishPacket('big/x', BIG, 1, { messageId: i }));
      codes.push(publisher.next('puback').reasonCode ?? 0);
    }
    const accepted = codes.filter((code) => code < 0x80).length;
    expect(accepted).toBe(5); // the budget is spent once the fifth is held
    expect(codes.slice(accepted)).toEqual([0x97, 0x97, 0x97]);
    publisher.send(publishPacket('big/x', 'small', 0));
    expect(pool.host.metrics.droppedByReason.overload).toBe(4);
    // Every acknowledged message reaches the subscriber when it comes back.
    const back = new TestClient(pool);
    back.connect({ clientId: 'away', clean: false, properties: { sessionExpiryInterval: 600 } });
    const got = back.drain().filter((p): p is IPublishPacket => p.cmd === 'publish');
    expect(got).toHaveLength(accepted);
    for (const p of got) back.send({ cmd: 'puback', messageId: p.messageId as number });
    // What was held is given back.
    expect(pool.host.queueBudget.used).toBe(0);
  });
});
