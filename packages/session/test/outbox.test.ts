import type { QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage } from '@mqtt-sessions/router';
import { describe, expect, it } from 'vitest';
import { createSessionMetrics, type SessionEvent, type SessionHost } from '../src/index.js';
import { Outbox } from '../src/outbox.js';

function host(events: SessionEvent[]): SessionHost {
  const refuse = () => {
    throw new Error('not used');
  };
  return {
    publish: refuse,
    subscribe: refuse,
    unsubscribe: refuse,
    unsubscribeAll: refuse,
    matchRetained: refuse,
    routeShared: () => false,
    sessionEnded: refuse,
    metrics: createSessionMetrics(),
    observe: (event) => events.push(event),
  };
}

function message(topic: string, qos: QoS, expiresAt?: number): RoutedMessage {
  return {
    topic,
    payload: Buffer.from(topic),
    qos,
    retain: false,
    properties: {},
    expiresAt,
    sender: undefined,
    senderContext: undefined,
    wireCache: undefined,
  };
}

describe('Outbox queue while the client is away', () => {
  it('drops expired messages before live ones when full, then the oldest QoS 0, then refuses [MQTT-3.3.2-5]', () => {
    let now = 1000;
    const events: SessionEvent[] = [];
    const owner = {
      clientId: 'c',
      pool: 'default',
      timers: { now: () => now, setTimeout: () => 0, clearTimeout: () => {} },
    };
    const outbox = new Outbox(host(events), { maxQueued: 3, maxQueuedBytes: 1_000_000 }, owner);
    outbox.deliver(undefined, message('old', 1, 1500), 1, false, undefined, undefined);
    outbox.deliver(undefined, message('zero', 0), 0, false, undefined, undefined);
    outbox.deliver(undefined, message('one', 1), 1, false, undefined, undefined);
    now = 2000;
    outbox.deliver(undefined, message('two', 1), 1, false, undefined, undefined);
    expect(outbox.queued).toBe(3);
    expect(outbox.dropped).toBe(1); // `old`, expired
    outbox.deliver(undefined, message('three', 2), 2, false, undefined, undefined);
    expect(outbox.dropped).toBe(2); // `zero`, the oldest QoS 0
    outbox.deliver(undefined, message('four', 1), 1, false, undefined, undefined);
    expect(outbox.dropped).toBe(3); // refused: only QoS 1 and 2 left
    expect(outbox.queued).toBe(3);
    outbox.reportDrops();
    expect(events).toMatchObject([{ type: 'dropped', clientId: 'c', pool: 'default', count: 3 }]);
  });

  it('does not queue a message that expired before it arrived', () => {
    const owner = {
      clientId: 'c',
      pool: 'default',
      timers: { now: () => 5000, setTimeout: () => 0, clearTimeout: () => {} },
    };
    const outbox = new Outbox(host([]), { maxQueued: 3, maxQueuedBytes: 1_000_000 }, owner);
    outbox.deliver(undefined, message('late', 1, 5000), 1, false, undefined, undefined);
    expect(outbox.queued).toBe(0);
    expect(outbox.dropped).toBe(1);
  });
});
