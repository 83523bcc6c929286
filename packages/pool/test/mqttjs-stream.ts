import { Duplex } from 'node:stream';
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Connection, ConnectionOptions, Pool } from '../src/index.js';

/** What a {@link duplexTo} stream lets a test watch. */
export interface StreamHooks {
  /** The pool connection of each new stream (MQTT.js makes one per connect). */
  onConnection?(connection: Connection): void;
  /** Bytes MQTT.js writes to the pool. */
  toPool?(bytes: Buffer): void;
  /** Bytes the pool sends to MQTT.js. */
  fromPool?(bytes: Buffer): void;
}

/**
 * A stream builder for MQTT.js: one in-memory duplex per (re)connect, with MQTT.js on one side and
 * a pool connection on the other. Closing either side ends the other. No sockets, but the
 * client's own encoder, decoder, acknowledgements and session logic.
 */
export function duplexTo<UC>(
  pool: Pool<UC>,
  hooks: StreamHooks = {},
  options: ConnectionOptions = { peerIp: '127.0.0.1' },
): () => Duplex {
  return () => {
    const stream = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        hooks.toPool?.(chunk);
        connection.receive(chunk);
        callback();
      },
      final(callback) {
        connection.end();
        callback();
      },
      destroy(error, callback) {
        connection.end();
        callback(error);
      },
    });
    const connection = pool.connect(
      {
        send: (bytes) => {
          hooks.fromPool?.(bytes);
          stream.push(bytes);
          return true;
        },
        close: () => {
          stream.push(null);
        },
      },
      options,
    );
    hooks.onConnection?.(connection);
    return stream;
  };
}

/** A message as MQTT.js delivered it. */
export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/** Collects what an MQTT.js client receives, with a way to wait for a number of messages. */
export function collectMessages(client: MqttClient): {
  messages: Received[];
  waitFor(count: number): Promise<Received[]>;
} {
  const messages: Received[] = [];
  const waiters: { count: number; resolve: (all: Received[]) => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), packet });
    for (const waiter of waiters.filter((w) => messages.length >= w.count)) {
      waiter.resolve(messages);
    }
  });
  return {
    messages,
    waitFor(count) {
      if (messages.length >= count) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`got ${messages.length} of ${count} messages`)),
          1000,
        );
        waiters.push({
          count,
          resolve: (all) => {
            clearTimeout(timer);
            resolve(all);
          },
        });
      });
    },
  };
}
