import { createServer, type Server, type Socket } from 'node:net';
import { createPool, type Pool } from '@mqtt-sessions/pool';
import type { Session } from '@mqtt-sessions/session';
import { createRedisSessionStore } from '@mqtt-sessions/session-store-redis';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { type ClusterNode, type ClusterNodeOptions, createClusterNode } from '../src/index.js';

/** Where the nodes of a test find Redis: a URL, or the seeds of a Redis Cluster. */
export type RedisPlace = { url: string } | { cluster: { host: string; port: number }[] };

/** One broker of a test cluster: a pool on a TCP port, joined to the cluster. */
export interface TestNode {
  readonly node: ClusterNode;
  readonly pool: Pool;
  readonly port: number;
  stop(): Promise<void>;
  /**
   * Dies as a process would, as the others see it: no more heartbeats, and every Redis
   * connection cut, so it writes nothing more; its TCP listener and client sockets close.
   */
  kill(): void;
}

/**
 * Starts a node: a pool with the Redis session store (shared by every node of the test, under
 * `prefix`), its cluster membership, and a TCP listener on a free loopback port.
 */
export async function startNode(
  place: RedisPlace,
  prefix: string,
  nodeId: string,
  options: Partial<ClusterNodeOptions> = {},
): Promise<TestNode> {
  const node = createClusterNode({
    ...place,
    nodeId,
    keyPrefix: prefix,
    leaseMs: 1500,
    onError: () => {},
    ...options,
  } as ClusterNodeOptions);
  const store =
    'url' in place
      ? createRedisSessionStore({ url: place.url, keyPrefix: `${prefix}sessions:` })
      : createRedisSessionStore({ cluster: place.cluster, keyPrefix: `${prefix}sessions:` });
  let dead = false;
  const pool = createPool({
    registry: node.registry<Session>('default'),
    store,
    sharedStore: true,
    onError: (error) => {
      if (!dead) expect.fail(String(error));
    },
  });
  await node.join([pool]);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    pool.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped = false;
  return {
    node,
    pool,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      server.close();
      await node.leave(() => pool.close());
    },
    kill: () => {
      dead = true;
      const inside = node as unknown as {
        heartbeat: NodeJS.Timeout;
        routeReader: { disconnect(): void };
        inboxReader: { disconnect(): void };
      };
      clearInterval(inside.heartbeat);
      node.redis.disconnect();
      inside.routeReader.disconnect();
      inside.inboxReader.disconnect();
      store.client.disconnect();
      server.close();
      for (const socket of sockets) socket.destroy();
      // What is left of it stops trying: nothing it does reaches Redis any more.
      stopped = true;
      void node.leave().catch(() => undefined);
    },
  };
}

/** Messages a client receives: topic, payload text and packet. */
export interface Inbox {
  readonly messages: { topic: string; payload: string; packet: mqtt.IPublishPacket }[];
}

const inboxes = new WeakMap<MqttClient, Inbox>();
const connacks = new WeakMap<MqttClient, mqtt.IConnackPacket>();

/**
 * An MQTT 5 client of a node, connected; what it receives is kept from its first packet on
 * ({@link inboxOf}), and so is its CONNACK ({@link connackOf}).
 */
export function connectTo(
  node: TestNode,
  clientId: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port: node.port,
    clientId,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  const inbox: Inbox = { messages: [] };
  inboxes.set(client, inbox);
  client.on('message', (topic, payload, packet) => {
    inbox.messages.push({ topic, payload: payload.toString(), packet });
  });
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => {
      connacks.set(client, connack);
      resolve(client);
    });
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error(`${clientId}: closed before CONNACK`)));
  });
}

/** What a client of {@link connectTo} has received. */
export function inboxOf(client: MqttClient): Inbox {
  const inbox = inboxes.get(client);
  if (inbox === undefined) throw new Error('not a client of connectTo');
  return inbox;
}

/** The CONNACK a client of {@link connectTo} got. */
export function connackOf(client: MqttClient): mqtt.IConnackPacket | undefined {
  return connacks.get(client);
}

/** Resolves once `check` holds, polling every 5 ms; fails after `timeoutMs`. */
export async function until(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'a condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
