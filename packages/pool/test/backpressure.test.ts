/**
 * One client cannot hurt the others: a connection whose replies back up stops being read, a burst
 * is handled a turn at a time, and a client that never reads is cut off after a while.
 */
import { generate, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settle, subscribe, TestClient, testPool } from './helpers.js';

const PINGREQ = Buffer.from([0xc0, 0x00]);

function many(packet: Packet, count: number): Buffer {
  const one = generate(packet, { protocolVersion: 5 });
  return Buffer.concat(Array.from({ length: count }, () => one));
}

describe('back-pressure', () => {
  it('stops reading a client whose replies back up, pauses its transport, and reads on when it drains', async () => {
    const { pool, errors } = testPool();
    const client = new TestClient(pool);
    client.connect({ clientId: 'deaf' });
    client.writable = false; // the transport's buffer is full from the next write on
    const before = client.bytes.length;
    client.sendBytes(Buffer.concat(Array.from({ length: 10_000 }, () => PINGREQ)));
    await settle();
    // One PINGRESP went out and filled the buffer; the other 9,999 PINGREQ wait unread.
    expect(client.bytes.length - before).toBe(1);
    expect(client.paused).toBe(true);
    client.writable = true;
    client.connection.drained();
    await settle(200); // 64 packets a turn
    expect(client.paused).toBe(false);
    expect(client.drain().filter((p) => p.cmd === 'pingresp')).toHaveLength(10_000);
    expect(errors).toEqual([]);
  });

  it('answers another client while one sends a burst: a connection gets packetsPerTurn packets per turn', async () => {
    const { pool, errors } = testPool({ session: { packetsPerTurn: 50, turnTimeMs: 0 } });
    const subscriber = new TestClient(pool);
    subscriber.connect({ clientId: 'sub' });
    subscribe(subscriber, 'burst/#', 0);
    const flooder = new TestClient(pool);
    flooder.connect({ clientId: 'flooder' });
    const bystander = new TestClient(pool);
    bystander.connect({ clientId: 'bystander' });
    flooder.sendBytes(
      many(
        { cmd: 'publish', topic: 'burst/x', payload: 'x', qos: 0, retain: false, dup: false },
        5_000,
      ),
    );
    // The burst's first turn is done; the bystander is answered before the rest of it.
    expect(subscriber.drain()).toHaveLength(50);
    bystander.sendBytes(PINGREQ);
    expect(bystander.next('pingresp')).toBeDefined();
    await settle(200);
    expect(subscriber.drain()).toHaveLength(4_950);
    expect(errors).toEqual([]);
  });

  describe('turnTimeMs', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    /** A burst of 1,000 QoS 0 PUBLISH; each packet read advances a stubbed clock by `msEach`. */
    function burst(turnTimeMs: number, msEach: number) {
      const { pool, errors } = testPool({ session: { packetsPerTurn: 50, turnTimeMs } });
      const subscriber = new TestClient(pool);
      subscriber.connect({ clientId: 'sub' });
      subscribe(subscriber, 'burst/#', 0);
      const flooder = new TestClient(pool);
      flooder.connect({ clientId: 'flooder' });
      let now = 0;
      vi.spyOn(performance, 'now').mockImplementation(() => {
        const time = now;
        now += msEach;
        return time;
      });
      flooder.sendBytes(
        many(
          { cmd: 'publish', topic: 'burst/x', payload: 'x', qos: 0, retain: false, dup: false },
          1_000,
        ),
      );
      return { subscriber, errors };
    }

    it('goes on with another block of packetsPerTurn while the turn has time left', () => {
      // The clock is read once per turn and once per block: 0.01 ms each, far below 1 ms.
      const { subscriber, errors } = burst(1, 0.01);
      expect(subscriber.drain()).toHaveLength(1_000);
      expect(errors).toEqual([]);
    });

    it('yields after the block in which the turn ran out of time', async () => {
      // Start at 0, 0.4 after the first block, 0.8 after the second, 1.2 after the third: yield.
      const { subscriber, errors } = burst(1, 0.4);
      expect(subscriber.drain()).toHaveLength(150);
      await settle(50);
      expect(subscriber.drain()).toHaveLength(850);
      expect(errors).toEqual([]);
    });
  });

  it('cuts off a client that leaves its replies unread for slowClientTimeoutMs, and counts it', () => {
    const { pool, timers, errors } = testPool({ session: { slowClientTimeoutMs: 30_000 } });
    const client = new TestClient(pool);
    client.connect({ clientId: 'sleepy' });
    client.writable = false;
    client.sendBytes(PINGREQ);
    timers.advance(29_999);
    expect(client.closed).toBe(false);
    timers.advance(1);
    expect(client.closed).toBe(true);
    expect(pool.host.metrics.slowClientDisconnects).toBe(1);
    expect(errors).toEqual([]);
  });

  it('does not cut off a client that drains in time', () => {
    const { pool, timers } = testPool({ session: { slowClientTimeoutMs: 30_000 } });
    const client = new TestClient(pool);
    client.connect({ clientId: 'slow-but-ok' });
    client.writable = false;
    client.sendBytes(PINGREQ);
    timers.advance(20_000);
    client.writable = true;
    client.connection.drained();
    timers.advance(60_000);
    expect(client.closed).toBe(false);
    expect(pool.host.metrics.slowClientDisconnects).toBe(0);
  });
});
