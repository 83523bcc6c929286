import { describe, expect, it } from 'vitest';
import { Router, subscriptionOptions } from '../src/index.js';
import { message, Recorder } from './helpers.js';

/** A relay that stands for another node of a cluster. */
class RemoteRecorder extends Recorder {
  readonly remote = true;
}

describe('Router with messages from other nodes', () => {
  it('sends a local message to relays and local subscribers, and one from another node to local ones only', () => {
    const router = new Router();
    const local = new Recorder('local');
    const relay = new RemoteRecorder('relay');
    router.subscribe(local, 'a/#', subscriptionOptions(1));
    router.subscribe(relay, 'a/#', subscriptionOptions(2));
    router.publish(message('a/1'));
    router.publish(message('a/2', { origin: 'node-b' }));
    expect(local.received.map((r) => r.topic)).toEqual(['a/1', 'a/2']);
    expect(relay.received.map((r) => r.topic)).toEqual(['a/1']);
    // A relay's subscriptions are counted apart: they are other nodes'.
    expect(router.stats()).toMatchObject({ subscriptions: 1, remoteSubscriptions: 1 });
    router.unsubscribeAll(relay);
    expect(router.stats()).toMatchObject({ subscriptions: 1, remoteSubscriptions: 0 });
  });

  it('leaves shared groups out of a message from another node: that node picked the member', () => {
    const router = new Router();
    const member = new Recorder('member');
    router.subscribe(member, '$share/g/a/#', subscriptionOptions(1));
    router.publish(message('a/1', { origin: 'node-b' }));
    expect(member.received).toEqual([]);
    router.publish(message('a/2'));
    expect(member.received.map((r) => r.topic)).toEqual(['a/2']);
  });

  it('counts a relay as one group member for local messages, and routes a forwarded one to a local member', () => {
    const router = new Router();
    const member = new Recorder('member');
    const relay = new RemoteRecorder('relay');
    router.subscribe(member, '$share/g/a/#', subscriptionOptions(1));
    router.subscribe(relay, '$share/g/a/#', subscriptionOptions(2));
    for (let i = 0; i < 4; i++) router.publish(message(`a/${i}`));
    expect(member.received).toHaveLength(2);
    expect(relay.received).toHaveLength(2);
    // Forwarded here for the group: never back out through the relay.
    for (let i = 0; i < 4; i++) {
      expect(
        router.routeShared({ group: 'g', filter: 'a/#' }, message('a/x', { origin: 'node-b' })),
      ).toBe(true);
    }
    expect(member.received).toHaveLength(6);
    expect(relay.received).toHaveLength(2);
  });

  it('finds no member for a forwarded message when only relays are in the group', () => {
    const router = new Router();
    router.subscribe(new RemoteRecorder(), '$share/g/a', subscriptionOptions(1));
    expect(
      router.routeShared({ group: 'g', filter: 'a' }, message('a', { origin: 'node-b' })),
    ).toBe(false);
  });

  it('hands a local message to a relay at once, even when the rest of a big fan-out goes in slices', async () => {
    const slices: (() => void)[] = [];
    const router = new Router({ sliceSize: 2, schedule: (run) => slices.push(run) });
    const locals = [new Recorder('l1'), new Recorder('l2'), new Recorder('l3'), new Recorder('l4')];
    for (const local of locals) router.subscribe(local, 'big/#', subscriptionOptions(1));
    const relay = new RemoteRecorder('relay');
    router.subscribe(relay, 'big/#', subscriptionOptions(2));
    router.subscribe(relay, 'big/+', subscriptionOptions(2)); // overlapping: still one call
    router.publish(message('big/1'));
    expect(relay.received.map((r) => r.topic)).toEqual(['big/1']);
    const delivered = () => locals.filter((l) => l.received.length > 0).length;
    expect(delivered()).toBe(2);
    let drained = false;
    const done = router.drained().then(() => {
      drained = true;
    });
    while (slices.length > 0) (slices.shift() as () => void)();
    await done;
    expect(drained).toBe(true);
    expect(delivered()).toBe(4);
  });
});
