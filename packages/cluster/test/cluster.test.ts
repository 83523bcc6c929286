/**
 * Two and three cluster nodes in this process, each a pool with its own TCP listener, over a
 * real Redis (and a real 3-master Redis Cluster when REDIS_CLUSTER_URLS is set), with MQTT.js
 * clients: routing between nodes, shared groups, and client ids taken over across nodes.
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import {
  describeWithRedis,
  describeWithRedisCluster,
} from '../../session-store-redis/test/redis-for-tests.js';
import {
  connackOf,
  connectTo,
  inboxOf,
  type RedisPlace,
  startNode,
  type TestNode,
  until,
} from './harness.js';

let nodes: TestNode[] = [];
let clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
  for (const node of nodes) await node.stop();
  nodes = [];
  clients = [];
});

function clusterSuite(place: () => RedisPlace): void {
  const prefix = () => `test-${randomBytes(4).toString('hex')}:`;

  async function startNodes(count: number): Promise<TestNode[]> {
    const shared = prefix();
    const started: TestNode[] = [];
    for (let i = 0; i < count; i++) {
      const node = await startNode(place(), shared, `n${i}-${randomBytes(3).toString('hex')}`);
      nodes.push(node);
      started.push(node);
    }
    return started;
  }

  async function client(node: TestNode, id: string, options = {}): Promise<MqttClient> {
    const connected = await connectTo(node, id, options);
    clients.push(connected);
    return connected;
  }

  /** Waits until every node in `on` routes `filter` to `to`. */
  function routed(on: TestNode[], to: TestNode, filter: string): Promise<void> {
    return until(
      () => on.every((node) => node.node.routesTo(to.node.nodeId, 'default', filter)),
      5000,
      `the route ${filter}`,
    );
  }

  it('delivers across nodes at QoS 0, 1 and 2, with the MQTT 5 properties as published', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const subscriber = await client(b, 'sub');
    const inbox = inboxOf(subscriber);
    await subscriber.subscribeAsync('sensors/+/temp', { qos: 2 });
    await routed([a], b, 'sensors/+/temp');
    const publisher = await client(a, 'pub');
    const properties = {
      userProperties: { z: 'last', a: ['one', 'two'] },
      correlationData: Buffer.from([0, 255, 7]),
      contentType: 'text/plain',
      responseTopic: 'replies/1',
    };
    await publisher.publishAsync('sensors/1/temp', 'q0', { qos: 0 });
    await publisher.publishAsync('sensors/2/temp', 'q1', { qos: 1, properties });
    await publisher.publishAsync('sensors/3/temp', 'q2', { qos: 2 });
    await until(() => inbox.messages.length === 3, 5000, 'three messages');
    expect(inbox.messages.map((m) => [m.topic, m.payload, m.packet.qos])).toEqual([
      ['sensors/1/temp', 'q0', 0],
      ['sensors/2/temp', 'q1', 1],
      ['sensors/3/temp', 'q2', 2],
    ]);
    const withProperties = inbox.messages[1]?.packet.properties;
    expect(withProperties?.userProperties).toEqual(properties.userProperties);
    expect(withProperties?.correlationData).toEqual(properties.correlationData);
    expect(withProperties?.contentType).toBe('text/plain');
    expect(withProperties?.responseTopic).toBe('replies/1');
  });

  it('sends a message only to the nodes with a matching filter, once per node', async () => {
    const [a, b, c] = (await startNodes(3)) as [TestNode, TestNode, TestNode];
    const onB = await client(b, 'on-b');
    const inbox = inboxOf(onB);
    // Two overlapping filters on one node: the node still gets one copy.
    await onB.subscribeAsync(['news/#', 'news/+'], { qos: 1 });
    const onC = await client(c, 'on-c');
    await onC.subscribeAsync('other/#', { qos: 1 });
    await routed([a], b, 'news/+');
    await routed([a], b, 'news/#');
    await routed([a], c, 'other/#');
    const publisher = await client(a, 'pub');
    for (let i = 0; i < 10; i++) await publisher.publishAsync('news/today', `n${i}`, { qos: 1 });
    await until(() => inbox.messages.length >= 10, 5000, 'ten messages');
    expect(inbox.messages.map((m) => m.payload)).toEqual(
      Array.from({ length: 10 }, (_, i) => `n${i}`),
    );
    expect(b.node.stats().received).toBe(10);
    expect(c.node.stats().received).toBe(0);
    expect(a.node.stats().forwarded).toBe(10);
  });

  it('keeps No Local and Retain As Published on the receiving node', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const onB = await client(b, 'rap');
    const inbox = inboxOf(onB);
    await onB.subscribeAsync('r/asis', { qos: 1, rap: true });
    await onB.subscribeAsync('r/cleared', { qos: 1, rap: false });
    await routed([a], b, 'r/asis');
    await routed([a], b, 'r/cleared');
    const publisher = await client(a, 'pub');
    await publisher.publishAsync('r/asis', 'kept', { qos: 1, retain: true });
    await publisher.publishAsync('r/cleared', 'cleared', { qos: 1, retain: true });
    await until(() => inbox.messages.length === 2, 5000, 'two messages');
    const flags = Object.fromEntries(inbox.messages.map((m) => [m.payload, m.packet.retain]));
    expect(flags).toEqual({ kept: true, cleared: false });
  });

  it('gives each message of a shared group spread over nodes to exactly one member', async () => {
    const [a, b, c] = (await startNodes(3)) as [TestNode, TestNode, TestNode];
    const members = [await client(a, 'm-a'), await client(b, 'm-b'), await client(c, 'm-c')];
    const inboxes = members.map(inboxOf);
    for (const member of members) await member.subscribeAsync('$share/g/jobs/#', { qos: 1 });
    // A plain subscriber on B as well: the copy B gets for it must not reach B's group member.
    const watcher = await client(b, 'watch');
    await watcher.subscribeAsync('jobs/#', { qos: 1 });
    await routed([a], b, '$share/g/jobs/#');
    await routed([a], b, 'jobs/#');
    await routed([a], c, '$share/g/jobs/#');
    const publisher = await client(a, 'pub');
    const count = 30;
    for (let i = 0; i < count; i++) await publisher.publishAsync('jobs/x', `j${i}`, { qos: 1 });
    const total = () => inboxes.reduce((sum, inbox) => sum + inbox.messages.length, 0);
    await until(() => total() >= count, 5000, 'every job');
    await new Promise((resolve) => setTimeout(resolve, 100)); // a duplicate would arrive by now
    const payloads = inboxes.flatMap((inbox) => inbox.messages.map((m) => m.payload)).sort();
    expect(payloads).toEqual(Array.from({ length: count }, (_, i) => `j${i}`).sort());
    for (const inbox of inboxes) expect(inbox.messages.length).toBeGreaterThan(0);
    expect(inboxOf(watcher).messages).toHaveLength(count);
  });

  it('takes a connected session over from another node: DISCONNECT 0x8E there, Session Present here', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const first = await client(a, 'device', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await first.subscribeAsync('cmd/device', { qos: 1 });
    const reason = new Promise<number | undefined>((resolve) =>
      first.on('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const second = await client(b, 'device', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    expect(await reason).toBe(0x8e);
    expect(connackOf(second)?.sessionPresent).toBe(true);
    expect(b.node.stats().takeovers).toBe(1);
    expect(a.node.stats().handovers).toBe(1);
    // The subscription moved with the session: a message published on A reaches B.
    const inbox = inboxOf(second);
    await routed([a], b, 'cmd/device');
    const publisher = await client(a, 'pub');
    await publisher.publishAsync('cmd/device', 'reboot', { qos: 1 });
    await until(() => inbox.messages.length === 1, 5000, 'the command');
    expect(inbox.messages[0]?.payload).toBe('reboot');
  });

  it('sends the Will of a connection taken over by another node as a takeover here would: at once without a delay, never with one', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const watcher = await client(a, 'will-watcher');
    await watcher.subscribeAsync('wills/#', { qos: 1 });
    await routed([b], a, 'wills/#');
    const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };
    for (const [id, delay] of [
      ['prompt', 0],
      ['patient', 30],
    ] as const) {
      await client(b, id, {
        ...persistent,
        will: {
          topic: `wills/${id}`,
          payload: Buffer.from(id),
          qos: 1,
          retain: false,
          properties: { willDelayInterval: delay },
        },
      });
      await client(a, id, persistent);
    }
    await until(() => inboxOf(watcher).messages.length >= 1, 5000, 'the Will');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inboxOf(watcher).messages.map((m) => m.payload)).toEqual(['prompt']);
  });

  it('moves the messages queued for an offline session to the node its client comes back to', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const first = await client(a, 'sleepy', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await first.subscribeAsync('mail/sleepy', { qos: 1 });
    await first.endAsync();
    const publisher = await client(a, 'pub');
    for (let i = 0; i < 5; i++) await publisher.publishAsync('mail/sleepy', `m${i}`, { qos: 1 });
    const back = await client(b, 'sleepy', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    expect(connackOf(back)?.sessionPresent).toBe(true);
    const inbox = inboxOf(back);
    await until(() => inbox.messages.length === 5, 5000, 'the queued messages');
    expect(inbox.messages.map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('ends two clients that race for one client id on two nodes with exactly one connected', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const attempts = await Promise.allSettled([
      client(a, 'racer', { properties: { sessionExpiryInterval: 60 } }),
      client(b, 'racer', { properties: { sessionExpiryInterval: 60 } }),
    ]);
    const connected = attempts.flatMap((attempt) =>
      attempt.status === 'fulfilled' ? [attempt.value] : [],
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connected.filter((c) => c.connected)).toHaveLength(1);
    expect(a.pool.connectedCount() + b.pool.connectedCount()).toBe(1);
  });

  it("adds up the nodes' figures, and only the node with the lowest id gets the totals", async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    await until(() => a.node.stats().peers === 1 && b.node.stats().peers === 1, 5000, 'the peers');
    const [low, high] = a.node.nodeId < b.node.nodeId ? [a, b] : [b, a];
    expect(await high.node.shareFigures({ 'clients/connected': 3 })).toBeUndefined();
    expect(await low.node.shareFigures({ 'clients/connected': 2, 'messages/sent': 5 })).toEqual({
      nodes: 2,
      'clients/connected': 5,
      'messages/sent': 5,
    });
  });

  it('takes over the duties of a node that died: its Will once, its sessions and the messages on their way', async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const watcher = await client(a, 'watcher');
    await watcher.subscribeAsync('wills/#', { qos: 1 });
    const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };
    const holder = await client(b, 'holder', {
      ...persistent,
      will: { topic: 'wills/holder', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    await holder.subscribeAsync('mail/holder', { qos: 1 });
    // A session with expiry 0 has no stored record: its Will is kept apart, and published too.
    await client(b, 'fleeting', {
      will: { topic: 'wills/fleeting', payload: Buffer.from('gone too'), qos: 1, retain: false },
    });
    await routed([a], b, 'mail/holder');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the kept Will is written per turn
    b.kill();
    // Acknowledged while B is dead but still counted a member: they wait in its inbox.
    const publisher = await client(a, 'pub');
    for (let i = 0; i < 3; i++) await publisher.publishAsync('mail/holder', `m${i}`, { qos: 1 });
    await until(
      () => a.node.stats().peers === 0 && !a.node.routesTo(b.node.nodeId, 'default', 'mail/holder'),
      8000,
      'the duties',
    );
    await until(() => inboxOf(watcher).messages.length >= 2, 5000, 'the Wills');
    const back = await client(a, 'holder', persistent);
    expect(connackOf(back)?.sessionPresent).toBe(true);
    await until(() => inboxOf(back).messages.length === 3, 5000, 'the messages of the dead node');
    expect(inboxOf(back).messages.map((m) => m.payload)).toEqual(['m0', 'm1', 'm2']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      inboxOf(watcher)
        .messages.map((m) => m.payload)
        .sort(),
    ).toEqual(['gone', 'gone too']);
  });

  it('loses nothing acknowledged when a node leaves under load: another takes its sessions and the messages that kept coming', async () => {
    const [a, b, c] = (await startNodes(3)) as [TestNode, TestNode, TestNode];
    const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await client(a, 'stayer', persistent);
    await first.subscribeAsync('feed/#', { qos: 1 });
    await routed([c], a, 'feed/#');
    const publisher = await client(c, 'feeder');
    const acked: string[] = [];
    let stop = false;
    const publishing = (async () => {
      for (let n = 0; !stop; n++) {
        await publisher.publishAsync(`feed/${n}`, String(n), { qos: 1 });
        acked.push(String(n));
      }
    })();
    await until(() => acked.length >= 50, 5000, 'some load');
    await a.stop(); // leave(() => pool.close()) under load
    await until(() => acked.length >= 150, 5000, 'more load after the leave');
    stop = true;
    await publishing;
    const back = await client(b, 'stayer', persistent);
    expect(connackOf(back)?.sessionPresent).toBe(true);
    const got = () =>
      new Set([...inboxOf(first).messages, ...inboxOf(back).messages].map((m) => m.payload));
    await until(() => acked.every((n) => got().has(n)), 10_000, 'every acknowledged message');
  });

  it("gives a client that reconnects while a dead node's duties run the messages that waited in its inbox", async () => {
    const [a, b] = (await startNodes(2)) as [TestNode, TestNode];
    const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };
    const subscriber = await client(b, 'eager', persistent);
    await subscriber.subscribeAsync('orders/#', { qos: 1 });
    await routed([a], b, 'orders/#');
    b.kill();
    const publisher = await client(a, 'shop');
    for (let i = 0; i < 20; i++) await publisher.publishAsync(`orders/${i}`, `o${i}`, { qos: 1 });
    // At once, on the node that will do the duties: the CONNECT waits for them.
    const back = await client(a, 'eager', { ...persistent, connectTimeout: 15_000 });
    expect(connackOf(back)?.sessionPresent).toBe(true);
    await until(() => inboxOf(back).messages.length >= 20, 10_000, 'the orders');
    expect(new Set(inboxOf(back).messages.map((m) => m.payload)).size).toBe(20);
  });

  it('tells a node that finds its lease was lost and its duties taken: it must not go on', async () => {
    const shared = prefix();
    const a = await startNode(place(), shared, `alive-${randomBytes(3).toString('hex')}`);
    nodes.push(a);
    let lost = 0;
    const b = await startNode(place(), shared, `stalled-${randomBytes(3).toString('hex')}`, {
      onLeaseLost: () => lost++,
    });
    nodes.push(b);
    const onB = await client(b, 'stalled-sub', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await onB.subscribeAsync('s/#', { qos: 1 });
    await routed([a], b, 's/#');
    const inside = b.node as unknown as { heartbeat: NodeJS.Timeout; beat(): Promise<void> };
    clearInterval(inside.heartbeat); // a stall: no beat for longer than the lease
    await until(() => !a.node.routesTo(b.node.nodeId, 'default', 's/#'), 8000, 'the takeover');
    expect(lost).toBe(0);
    await inside.beat(); // the stall ends
    expect(lost).toBe(1);
  });

  it('takes back its own sessions and inbox when it starts again with the same node id', async () => {
    const shared = prefix();
    const a = await startNode(place(), shared, 'steady');
    nodes.push(a);
    let b = await startNode(place(), shared, 'comeback', { leaseMs: 60_000 });
    nodes.push(b);
    const sleeper = await client(b, 'sleeper', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await sleeper.subscribeAsync('news/sleeper', { qos: 1 });
    await sleeper.endAsync();
    await routed([a], b, 'news/sleeper');
    b.kill(); // its lease is long: nobody takes its duties before it is back
    const publisher = await client(a, 'pub');
    await publisher.publishAsync('news/sleeper', 'while away', { qos: 1 });
    b = await startNode(place(), shared, 'comeback', { leaseMs: 60_000 });
    nodes.push(b);
    const back = await client(b, 'sleeper', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    expect(connackOf(back)?.sessionPresent).toBe(true);
    await until(() => inboxOf(back).messages.length === 1, 5000, 'the message from its inbox');
    await publisher.publishAsync('news/sleeper', 'after', { qos: 1 });
    await until(() => inboxOf(back).messages.length === 2, 5000, 'a message routed to it again');
    expect(inboxOf(back).messages.map((m) => m.payload)).toEqual(['while away', 'after']);
  });
}

await describeWithRedis('cluster nodes on one Redis', (url) => clusterSuite(() => ({ url })));

describeWithRedisCluster('cluster nodes on a Redis Cluster', (seeds) =>
  clusterSuite(() => ({ cluster: seeds })),
);
