import { describe, expect, it, vi } from 'vitest';
import { Router, subscriptionOptions } from '../src/index.js';
import { message, Recorder } from './helpers.js';

describe('Router subscriptions', () => {
  it('replaces the options of a repeated subscription instead of adding one [MQTT-3.8.4-3]', () => {
    const router = new Router();
    const a = new Recorder();
    expect(router.subscribe(a, 'a/+', subscriptionOptions(0))).toEqual({ ok: true, isNew: true });
    expect(router.subscribe(a, 'a/+', subscriptionOptions(2))).toEqual({ ok: true, isNew: false });
    router.publish(message('a/b'));
    expect(a.received).toHaveLength(1);
    expect(a.received[0]?.qos).toBe(2);
    expect(router.stats()).toMatchObject({ subscriptions: 1, subscribers: 1, filters: 1 });
  });

  it('refuses invalid filters and share names with an error value', () => {
    const router = new Router();
    const a = new Recorder();
    expect(router.subscribe(a, 'a/#/b', subscriptionOptions(0))).toMatchObject({
      ok: false,
      reason: 'invalid-filter',
    });
    expect(router.subscribe(a, '$share/g+/a', subscriptionOptions(0))).toMatchObject({
      ok: false,
      reason: 'invalid-share',
    });
    expect(router.subscribe(a, '$share/g/a+', subscriptionOptions(0))).toMatchObject({
      ok: false,
      reason: 'invalid-filter',
    });
    expect(router.stats().subscriptions).toBe(0);
  });

  it('unsubscribes one filter, then all of a subscriber', () => {
    const router = new Router();
    const a = new Recorder();
    router.subscribe(a, 'a', subscriptionOptions(0));
    router.subscribe(a, 'b/#', subscriptionOptions(0));
    router.subscribe(a, '$share/g/c', subscriptionOptions(0));
    expect(router.unsubscribe(a, 'a')).toBe(true);
    expect(router.unsubscribe(a, 'a')).toBe(false);
    expect(
      router
        .subscriptionsOf(a)
        .map((s) => s.filter)
        .sort(),
    ).toEqual(['$share/g/c', 'b/#']);
    expect(router.unsubscribeAll(a)).toBe(2);
    expect(router.stats()).toMatchObject({
      subscriptions: 0,
      subscribers: 0,
      filters: 0,
      sharedGroups: 0,
    });
    router.publish(message('b/x'));
    expect(a.received).toEqual([]);
  });
});

describe('Router delivery', () => {
  it('grants min(message QoS, subscription QoS) [MQTT-3.8.4-8]', () => {
    const router = new Router();
    const a = new Recorder();
    router.subscribe(a, 't', subscriptionOptions(1));
    router.publish(message('t', { qos: 2 }));
    router.publish(message('t', { qos: 0 }));
    expect(a.received.map((r) => r.qos)).toEqual([1, 0]);
  });

  it('does not send a subscriber its own message when No Local is set [MQTT-3.8.3-3]', () => {
    const router = new Router();
    const a = new Recorder('a');
    const b = new Recorder('b');
    router.subscribe(a, 't', subscriptionOptions(0, { noLocal: true }));
    router.subscribe(b, 't', subscriptionOptions(0));
    router.publish(message('t', { sender: a }));
    router.publish(message('t', { sender: b }));
    expect(a.received).toHaveLength(1);
    expect(b.received).toHaveLength(2);
  });

  it('clears RETAIN unless Retain As Published is set [MQTT-3.3.1-12] [MQTT-3.3.1-13]', () => {
    const router = new Router();
    const plain = new Recorder();
    const rap = new Recorder();
    router.subscribe(plain, 't', subscriptionOptions(0));
    router.subscribe(rap, 't', subscriptionOptions(0, { retainAsPublished: true }));
    router.publish(message('t', { retain: true }));
    router.publish(message('t', { retain: false }));
    expect(plain.received.map((r) => r.retain)).toEqual([false, false]);
    expect(rap.received.map((r) => r.retain)).toEqual([true, false]);
  });

  it('sends one copy for overlapping filters, at the highest QoS with every identifier [MQTT-3.3.4-2] [MQTT-3.3.4-4]', () => {
    const router = new Router();
    const a = new Recorder();
    router.subscribe(a, 'a/+', subscriptionOptions(0, { subscriptionIdentifier: 7 }));
    router.subscribe(a, 'a/#', subscriptionOptions(2, { subscriptionIdentifier: 3 }));
    router.subscribe(a, 'a/b', subscriptionOptions(1));
    router.publish(message('a/b'));
    expect(a.received).toHaveLength(1);
    expect(a.received[0]).toMatchObject({ qos: 2, ids: [3, 7] });
  });

  it('sends one copy per subscription in per-subscription mode [MQTT-3.3.4-5]', () => {
    const router = new Router({ deliveryMode: 'per-subscription' });
    const a = new Recorder();
    router.subscribe(a, 'a/+', subscriptionOptions(0, { subscriptionIdentifier: 7 }));
    router.subscribe(a, 'a/#', subscriptionOptions(1));
    router.publish(message('a/b'));
    expect(a.received.map((r) => [r.filter, r.qos, r.ids])).toEqual(
      expect.arrayContaining([
        ['a/+', 0, [7]],
        ['a/#', 1, undefined],
      ]),
    );
    expect(a.received).toHaveLength(2);
  });

  it('keeps delivering when one subscriber throws', () => {
    const onDeliveryError = vi.fn();
    const router = new Router({ onDeliveryError });
    const bad = {
      deliver: () => {
        throw new Error('boom');
      },
    };
    const good = new Recorder();
    router.subscribe(bad, 't', subscriptionOptions(0));
    router.subscribe(good, 't', subscriptionOptions(0));
    expect(router.publish(message('t'))).toEqual({ ok: true, deliveries: 2 });
    expect(good.received).toHaveLength(1);
    expect(onDeliveryError).toHaveBeenCalledWith(expect.any(Error), bad);
  });

  it('lets a subscriber publish from inside deliver without disturbing the outer fan-out', () => {
    const router = new Router();
    const echo = new Recorder('echo');
    const responder = {
      deliver: vi.fn((m: { topic: string }) => {
        if (m.topic === 'request') router.publish(message('response', { qos: 0 }));
      }),
    };
    const last = new Recorder('last');
    router.subscribe(responder, 'request', subscriptionOptions(1));
    router.subscribe(echo, '#', subscriptionOptions(2, { subscriptionIdentifier: 1 }));
    router.subscribe(last, 'request', subscriptionOptions(1, { subscriptionIdentifier: 9 }));
    router.subscribe(last, 'response', subscriptionOptions(0));
    router.publish(message('request', { qos: 2 }));
    expect(last.received).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ topic: 'request', qos: 1, ids: [9] }),
        expect.objectContaining({ topic: 'response', qos: 0, ids: undefined }),
      ]),
    );
    expect(echo.received.map((r) => [r.topic, r.qos])).toEqual(
      expect.arrayContaining([
        ['request', 2],
        ['response', 0],
      ]),
    );
  });
});

describe('Router shared subscriptions', () => {
  function group(strategy: 'round-robin' | 'random' | 'sticky-topic' | 'sticky-publisher') {
    const router = new Router({ sharedStrategy: strategy });
    const members = [new Recorder('m0'), new Recorder('m1'), new Recorder('m2')];
    for (const m of members) router.subscribe(m, '$share/g/jobs/+', subscriptionOptions(1));
    return { router, members };
  }

  it('gives each message to one member, round-robin by default (MQTT 5 section 4.8.2)', () => {
    const { router, members } = group('round-robin');
    for (let i = 0; i < 9; i++) router.publish(message(`jobs/${i}`));
    expect(members.map((m) => m.received.length)).toEqual([3, 3, 3]);
    expect(members[0]?.received[0]).toMatchObject({ shared: 'g', filter: 'jobs/+', qos: 1 });
  });

  it('picks random members, and sticky ones by topic or publisher', () => {
    const random = group('random');
    for (let i = 0; i < 300; i++) random.router.publish(message(`jobs/${i}`));
    expect(random.members.every((m) => m.received.length > 50)).toBe(true);
    const byTopic = group('sticky-topic');
    for (let i = 0; i < 5; i++) byTopic.router.publish(message('jobs/same'));
    expect(byTopic.members.filter((m) => m.received.length === 5)).toHaveLength(1);
    const byPublisher = group('sticky-publisher');
    for (let i = 0; i < 5; i++) byPublisher.router.publish(message(`jobs/${i}`), 'client-7');
    expect(byPublisher.members.filter((m) => m.received.length === 5)).toHaveLength(1);
  });

  it('prefers online members and falls back to offline ones', () => {
    const { router, members } = group('round-robin');
    (members[0] as Recorder).online = false;
    (members[1] as Recorder).online = false;
    for (let i = 0; i < 4; i++) router.publish(message('jobs/x'));
    expect(members.map((m) => m.received.length)).toEqual([0, 0, 4]);
    (members[2] as Recorder).online = false;
    router.publish(message('jobs/x'));
    expect(members.reduce((n, m) => n + m.received.length, 0)).toBe(5);
  });

  it('keeps separate groups on the same filter, and plain subscribers too', () => {
    const router = new Router();
    const a = new Recorder('a');
    const b = new Recorder('b');
    const plain = new Recorder('plain');
    router.subscribe(a, '$share/one/t', subscriptionOptions(0));
    router.subscribe(b, '$share/two/t', subscriptionOptions(0));
    router.subscribe(plain, 't', subscriptionOptions(0));
    router.subscribe(a, 't', subscriptionOptions(0));
    router.publish(message('t'));
    expect([a.received.length, b.received.length, plain.received.length]).toEqual([2, 1, 1]);
  });

  it('refuses No Local on a shared subscription [MQTT-3.8.3-4]', () => {
    const router = new Router();
    expect(
      router.subscribe(new Recorder(), '$share/g/t', subscriptionOptions(0, { noLocal: true })),
    ).toMatchObject({
      ok: false,
      reason: 'shared-no-local',
    });
  });

  it('routes a message to another member of its group', () => {
    const { router, members } = group('round-robin');
    const [m0, m1, m2] = members as [Recorder, Recorder, Recorder];
    router.publish(message('jobs/1'));
    expect(m0.received).toHaveLength(1);
    const route = { group: 'g', filter: 'jobs/+' };
    expect(router.routeShared(route, message('jobs/1'), m0)).toBe(true);
    expect(m1.received.length + m2.received.length).toBe(1);
    router.unsubscribeAll(m1);
    router.unsubscribeAll(m2);
    expect(router.routeShared(route, message('jobs/1'), m0)).toBe(false);
  });
});

describe('Router fan-out slicing', () => {
  function manual() {
    const runs: (() => void)[] = [];
    return { schedule: (run: () => void) => runs.push(run), runs };
  }

  it('delivers a big fan-out in slices, in publish order', () => {
    const { schedule, runs } = manual();
    const router = new Router({ sliceSize: 10, schedule });
    const subscribers = Array.from({ length: 25 }, (_, i) => new Recorder(`s${i}`));
    for (const s of subscribers) router.subscribe(s, 't/#', subscriptionOptions(0));
    expect(router.publish(message('t/1'))).toEqual({ ok: true, deliveries: 25 });
    expect(subscribers.filter((s) => s.received.length === 1)).toHaveLength(10);
    router.publish(message('t/2')); // waits behind the first
    expect(router.stats().backlog).toBe(40);
    while (runs.length > 0) runs.shift()?.();
    expect(router.stats().backlog).toBe(0);
    for (const s of subscribers) expect(s.received.map((r) => r.topic)).toEqual(['t/1', 't/2']);
  });

  it('refuses a publish that would overflow the backlog, delivering it to nobody', () => {
    const { schedule, runs } = manual();
    const router = new Router({ sliceSize: 10, maxBacklog: 20, schedule });
    const subscribers = Array.from({ length: 25 }, () => new Recorder());
    for (const s of subscribers) router.subscribe(s, 't', subscriptionOptions(0));
    expect(router.publish(message('t')).ok).toBe(true); // 10 now, 15 wait
    expect(router.publish(message('t'))).toMatchObject({ ok: false, reason: 'overload' });
    while (runs.length > 0) runs.shift()?.();
    expect(subscribers.every((s) => s.received.length === 1)).toBe(true);
    expect(router.stats().overloads).toBe(1);
  });
});
