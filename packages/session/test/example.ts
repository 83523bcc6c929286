import { createMemoryRetainStore } from '@mqtt-sessions/retain';
import { Router } from '@mqtt-sessions/router';
import { createDefaultRuntime } from '@mqtt-sessions/runtime-default';
import {
  createSessionMetrics,
  Session,
  type SessionHost,
  shareSessionSettings,
} from '@mqtt-sessions/session';
import { type Packet, parser } from 'mqtt-packet';

const router = new Router();
const retained = createMemoryRetainStore();

/** What sessions need from the server around them (`@mqtt-sessions/pool` is the full version). */
const host: SessionHost = {
  publish(message, senderKey) {
    const result = router.publish(message, senderKey);
    if (result.ok && message.retain) retained.set(message); // (the pool also keeps its expiry)
    return result;
  },
  subscribe: (subscriber, filter, options) => router.subscribe(subscriber, filter, options),
  unsubscribe: (subscriber, filter) => router.unsubscribe(subscriber, filter),
  unsubscribeAll: (subscriber) => void router.unsubscribeAll(subscriber),
  matchRetained: (filter, cursor, limit) => retained.match(filter, { cursor, limit }),
  routeShared: (route, message, exclude) => router.routeShared(route, message, exclude),
  sessionEnded: () => {},
  metrics: createSessionMetrics(),
};
// What every session of this server has in common, resolved once and shared.
const shared = shareSessionSettings({ pool: 'demo', host, runtime: createDefaultRuntime() });
const connection = { peerIp: '192.0.2.1', contextPrefs: { origin: 'tcp' } };

/** A session with one connection; what the session sends is decoded into `received`. */
export function connect(clientId: string) {
  const received: Packet[] = [];
  const decoder = parser({ protocolVersion: 5 });
  decoder.on('packet', (packet: Packet) => received.push(packet));
  const session = new Session({ clientId, routingId: `r:${clientId}`, connection, shared });
  const link = {
    send(bytes: Buffer) {
      decoder.parse(bytes);
      return true; // false would mean "buffer full": the session holds messages until drained
    },
    close() {},
  };
  // The first packet of the connection; later ones go to `attachment.receive`.
  const attachment = session.connect(
    link,
    { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: true, keepalive: 0 },
    connection,
  );
  return { session, attachment, received };
}

export const alice = connect('alice');
alice.attachment.receive({
  cmd: 'subscribe',
  messageId: 1,
  subscriptions: [{ topic: 'chat/#', qos: 1 }],
});
export const bob = connect('bob');
bob.attachment.receive({
  cmd: 'publish',
  topic: 'chat/general',
  payload: Buffer.from('hi'),
  qos: 1,
  messageId: 7,
  retain: false,
  dup: false,
});
console.log(alice.received.map((packet) => packet.cmd)); // [ 'connack', 'suback', 'publish' ]
console.log(bob.received.map((packet) => packet.cmd)); // [ 'connack', 'puback' ]
