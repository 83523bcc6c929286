import { isPromiseLike, ReasonCode } from '@mqtt-sessions/protocol';
import { createDefaultRuntime, type Runtime } from '@mqtt-sessions/runtime-default';
import type {
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPublishPacket,
  ISubackPacket,
  IUnsubackPacket,
  Packet,
} from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { dispatch } from '../src/dispatch.js';
import { FakeConnection, FakeSession } from './fake-context.js';

/**
 * Hands a packet to the handlers and checks that an answer that needs no waiting came at once:
 * with synchronous runtime and router answers, the handlers must allocate no Promise.
 */
function handle(session: FakeSession, connection: FakeConnection, packet: Packet): void {
  const result = dispatch(session, connection, packet);
  expect(isPromiseLike(result)).toBe(false);
}

/** Hands a packet to the handlers when an answer waits (for the store): settles when it is done. */
async function handleAsync(
  session: FakeSession,
  connection: FakeConnection,
  packet: Packet,
): Promise<void> {
  await dispatch(session, connection, packet);
}

function publish(overrides: Partial<IPublishPacket> = {}): IPublishPacket {
  return {
    cmd: 'publish',
    topic: 'a/b',
    payload: Buffer.from('x'),
    qos: 1,
    messageId: 7,
    retain: false,
    dup: false,
    ...overrides,
  };
}

function connect(overrides: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: 'client-1',
    clean: true,
    keepalive: 30,
    ...overrides,
  };
}

describe('the packet handlers against a fake session context', () => {
  describe('CONNECT', () => {
    it('accepts, establishes the connection with what was granted, sends CONNACK, then resumes', () => {
      const session = new FakeSession({ maxInflight: 10 });
      const connection = new FakeConnection(5, 'connecting');
      handle(
        session,
        connection,
        connect({
          clean: false,
          properties: { sessionExpiryInterval: 60, receiveMaximum: 20, topicAliasMaximum: 4 },
        }),
      );
      expect(session.accepted).toEqual([
        // The default runtime says there is no session to resume for a session without state.
        { clean: false, runtimeSessionPresent: false, expiryInterval: 60, will: undefined },
      ]);
      expect(connection.grant).toMatchObject({
        keepAliveSeconds: 30,
        sendWindow: 10,
        outboundAliases: 4,
        problemInformation: true,
      });
      const connack = connection.sent[0] as IConnackPacket;
      expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
      expect(connack.properties?.sessionExpiryInterval).toBe(60);
      expect(session.steps).toEqual(['accept', 'resume']);
      expect(session.events[0]).toMatchObject({ type: 'connected', sessionPresent: false });
    });

    it('resumes a session from another protocol version (3.1.1 to 5), as Mosquitto does', () => {
      const session = new FakeSession();
      session.hasState = true;
      session.protocolVersion = 4;
      session.sessionPresent = true;
      const connection = new FakeConnection(5, 'connecting');
      handle(session, connection, connect({ clean: false }));
      expect(session.accepted).toMatchObject([{ clean: false }]);
      expect(connection.sent[0]).toMatchObject({
        cmd: 'connack',
        sessionPresent: true,
        reasonCode: 0,
      });
      expect(session.metrics.refusedConnects).toBe(0);
    });

    it('sends CONNACK only once the session is stored, and 0x88 when the store fails', async () => {
      const session = new FakeSession();
      let store!: () => void;
      session.stored = new Promise<void>((resolve) => {
        store = resolve;
      });
      const connection = new FakeConnection(5, 'connecting');
      const done = handleAsync(session, connection, connect({ clean: false }));
      expect(session.accepted).toHaveLength(1);
      expect(connection.sent).toEqual([]);
      store();
      await done;
      expect(connection.sent[0]).toMatchObject({ cmd: 'connack', reasonCode: 0 });

      const failing = new FakeSession();
      failing.stored = Promise.reject(new Error('disk full'));
      const other = new FakeConnection(5, 'connecting');
      await handleAsync(failing, other, connect({ clean: false }));
      expect(other.sent).toEqual([
        { cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.ServerUnavailable },
      ]);
      expect(failing.errors).toHaveLength(1);
    });

    it('loads a restored session before it authenticates; a failed load refuses with 0x88', async () => {
      const session = new FakeSession();
      session.loaded = Promise.reject(new Error('store down'));
      const connection = new FakeConnection(5, 'connecting');
      await handleAsync(session, connection, connect({ clean: false }));
      expect(session.accepted).toEqual([]);
      expect(connection.sent).toEqual([
        { cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.ServerUnavailable },
      ]);
    });

    it('maps a runtime refusal to the nearest MQTT 3.1.1 return code', () => {
      const base = createDefaultRuntime() as Runtime<unknown>;
      const runtime: Runtime<unknown> = {
        ...base,
        connect: (_packet, _present, _info, userContext) => ({
          type: 'connack',
          reasonCode: ReasonCode.BadUserNameOrPassword,
          userContext,
        }),
      };
      const session = new FakeSession({}, runtime);
      const connection = new FakeConnection(4, 'connecting');
      handle(session, connection, connect({ protocolVersion: 4 }));
      expect(connection.sent).toEqual([{ cmd: 'connack', sessionPresent: false, returnCode: 4 }]);
      expect(connection.ending?.how).toBe('drop');
    });

    it('refuses a Receive Maximum of 0 as a protocol error', () => {
      const session = new FakeSession();
      const connection = new FakeConnection(5, 'connecting');
      handle(session, connection, connect({ properties: { receiveMaximum: 0 } }));
      expect((connection.sent[0] as IConnackPacket).reasonCode).toBe(ReasonCode.ProtocolError);
    });

    it('refuses a Will QoS above the Maximum QoS with 0x9B', () => {
      const session = new FakeSession({ maximumQoS: 1 });
      const connection = new FakeConnection(5, 'connecting');
      handle(
        session,
        connection,
        connect({ will: { topic: 'w', payload: Buffer.from('bye'), qos: 2, retain: false } }),
      );
      expect((connection.sent[0] as IConnackPacket).reasonCode).toBe(ReasonCode.QoSNotSupported);
    });

    it('drops a connection whose first packet is not CONNECT', () => {
      const session = new FakeSession();
      const connection = new FakeConnection(5, 'connecting');
      handle(session, connection, { cmd: 'pingreq' });
      expect(connection.sent).toEqual([]);
      expect(connection.ending).toEqual({
        how: 'drop',
        reason: 'the first packet was not CONNECT',
      });
    });
  });

  describe('PUBLISH', () => {
    it('routes a QoS 1 message, then acknowledges it', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(
        session,
        connection,
        publish({ properties: { contentType: 'text/plain', messageExpiryInterval: 10 } }),
      );
      const routed = session.published[0];
      expect(routed).toMatchObject({ topic: 'a/b', qos: 1, sender: session });
      expect(routed?.properties).toEqual({ contentType: 'text/plain' });
      expect(routed?.expiresAt).toBe(session.time + 10_000);
      expect(connection.sent).toEqual([{ cmd: 'puback', messageId: 7, reasonCode: 0 }]);
      expect(connection.inboundUnacked).toBe(0);
    });

    it('answers 0x10 when nobody subscribes (MQTT 5 only)', () => {
      const session = new FakeSession();
      session.publishResult = { ok: true, deliveries: 0 };
      const v5 = new FakeConnection(5);
      handle(session, v5, publish());
      expect(v5.sent[0]).toMatchObject({ reasonCode: ReasonCode.NoMatchingSubscribers });
      const v4 = new FakeConnection(4);
      handle(session, v4, publish({ messageId: 8 }));
      expect(v4.sent[0]).toMatchObject({ reasonCode: 0 });
    });

    it('waits for an asynchronous router before it acknowledges', async () => {
      const session = new FakeSession();
      let route = (_result: { ok: true; deliveries: number }) => {};
      session.publishResult = new Promise((resolve) => {
        route = resolve;
      });
      const connection = new FakeConnection();
      const done = dispatch(session, connection, publish());
      expect(connection.sent).toEqual([]);
      expect(connection.inboundUnacked).toBe(1);
      route({ ok: true, deliveries: 2 });
      await done;
      expect(connection.sent).toEqual([{ cmd: 'puback', messageId: 7, reasonCode: 0 }]);
    });

    it('keeps a QoS 2 id until PUBREL and answers a resend with PUBREC without routing it again', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(session, connection, publish({ qos: 2, messageId: 9 }));
      handle(session, connection, publish({ qos: 2, messageId: 9, dup: true }));
      expect(session.published).toHaveLength(1);
      expect(connection.commands()).toEqual(['pubrec', 'pubrec']);
      expect(connection.inboundUnacked).toBe(1);
      handle(session, connection, { cmd: 'pubrel', messageId: 9 });
      expect(connection.sent[2]).toEqual({ cmd: 'pubcomp', messageId: 9, reasonCode: 0 });
      expect(connection.inboundUnacked).toBe(0);
      handle(session, connection, { cmd: 'pubrel', messageId: 9 });
      expect(connection.sent[3]).toEqual({
        cmd: 'pubcomp',
        messageId: 9,
        reasonCode: ReasonCode.PacketIdentifierNotFound,
      });
    });

    it('disconnects a QoS above the Maximum QoS with 0x9B', () => {
      const session = new FakeSession({ maximumQoS: 1 });
      const connection = new FakeConnection();
      handle(session, connection, publish({ qos: 2 }));
      expect(connection.ending).toMatchObject({ how: 'disconnect', reasonCode: 0x9b });
      expect(session.published).toEqual([]);
    });

    it('resolves Topic Aliases and refuses an unknown one', () => {
      const session = new FakeSession({ topicAliasMaximum: 2 });
      const connection = new FakeConnection();
      handle(session, connection, publish({ qos: 0, properties: { topicAlias: 1 } }));
      handle(session, connection, publish({ qos: 0, topic: '', properties: { topicAlias: 1 } }));
      expect(session.published.map((message) => message.topic)).toEqual(['a/b', 'a/b']);
      handle(session, connection, publish({ qos: 0, topic: '', properties: { topicAlias: 2 } }));
      expect(connection.ending).toMatchObject({ reasonCode: ReasonCode.ProtocolError });
    });

    it('refuses an alias above the maximum with 0x94', () => {
      const session = new FakeSession({ topicAliasMaximum: 2 });
      const connection = new FakeConnection();
      handle(session, connection, publish({ qos: 0, properties: { topicAlias: 3 } }));
      expect(connection.ending).toMatchObject({ reasonCode: ReasonCode.TopicAliasInvalid });
    });

    it('answers 0x97 when the rate limit has no token, and counts a drop', () => {
      const session = new FakeSession();
      session.tokens = 0;
      const connection = new FakeConnection();
      handle(session, connection, publish());
      expect(connection.sent).toEqual([
        { cmd: 'puback', messageId: 7, reasonCode: ReasonCode.QuotaExceeded },
      ]);
      expect(session.metrics.messagesDropped).toBe(1);
    });

    it('answers a refusal of the runtime with its reason code and reason string', () => {
      const base = createDefaultRuntime() as Runtime<unknown>;
      const runtime: Runtime<unknown> = {
        ...base,
        isAllowed: () => ({ allowed: false, reasonCode: 0x97, reasonString: 'over quota' }),
      };
      const session = new FakeSession({}, runtime);
      const connection = new FakeConnection();
      handle(session, connection, publish());
      expect(connection.sent).toEqual([
        {
          cmd: 'puback',
          messageId: 7,
          reasonCode: ReasonCode.QuotaExceeded,
          properties: { reasonString: 'over quota' },
        },
      ]);
      expect(connection.inboundUnacked).toBe(0);
    });

    it('refuses a client PUBLISH to $SYS/ with 0x87 when refuseSysPublish is on (section 4.7.2)', () => {
      const session = new FakeSession({ refuseSysPublish: true });
      const connection = new FakeConnection();
      handle(session, connection, publish({ topic: '$SYS/broker/uptime' }));
      handle(session, connection, publish({ topic: '$SYSTEM/ok', messageId: 8 }));
      expect(connection.sent).toEqual([
        { cmd: 'puback', messageId: 7, reasonCode: ReasonCode.NotAuthorized },
        { cmd: 'puback', messageId: 8, reasonCode: 0 },
      ]);
      expect(session.published.map((message) => message.topic)).toEqual(['$SYSTEM/ok']);
      const open = new FakeSession();
      handle(open, new FakeConnection(), publish({ topic: '$SYS/x' }));
      expect(open.published).toHaveLength(1);
    });

    it('disconnects a client past the Receive Maximum with 0x93', () => {
      const session = new FakeSession({ receiveMaximum: 1 });
      const connection = new FakeConnection();
      connection.inboundUnacked = 1;
      handle(session, connection, publish());
      expect(connection.ending).toMatchObject({ reasonCode: ReasonCode.ReceiveMaximumExceeded });
    });
  });

  describe('SUBSCRIBE and UNSUBSCRIBE', () => {
    it('grants each filter at most the Maximum QoS, then asks for retained messages', () => {
      const session = new FakeSession({ maximumQoS: 1 });
      const connection = new FakeConnection();
      handle(session, connection, {
        cmd: 'subscribe',
        messageId: 3,
        subscriptions: [
          { topic: 'a/+', qos: 2 },
          { topic: 'b/#', qos: 0, rh: 2 },
          { topic: 'bad/#/x', qos: 1 },
        ],
      });
      const suback = connection.sent[0] as ISubackPacket;
      expect(suback.granted).toEqual([1, 0, ReasonCode.TopicFilterInvalid]);
      expect(session.subscribed.map((entry) => entry.options.qos)).toEqual([1, 0]);
      // Retain Handling 2: no retained messages for `b/#` [MQTT-3.3.1-11].
      expect(session.retainedRequests).toEqual(['a/+']);
    });

    it('sends SUBACK before the retained messages', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      const sent = connection.sent;
      const originalSend = connection.send.bind(connection);
      connection.send = (packet) => {
        session.steps.push(packet.cmd);
        originalSend(packet);
      };
      handle(session, connection, {
        cmd: 'subscribe',
        messageId: 4,
        subscriptions: [{ topic: 'x', qos: 0 }],
      });
      expect(session.steps).toEqual(['suback', 'retained x']);
      expect(sent).toHaveLength(1);
    });

    it('disconnects No Local on a shared subscription with 0x82 [MQTT-3.8.3-4]', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(session, connection, {
        cmd: 'subscribe',
        messageId: 5,
        subscriptions: [{ topic: '$share/g/t', qos: 0, nl: true }],
      });
      expect(connection.ending).toMatchObject({ reasonCode: ReasonCode.ProtocolError });
      expect(session.subscribed).toEqual([]);
    });

    it('gives MQTT 3.1.1 clients 0x80 for a refused filter', () => {
      const session = new FakeSession({ wildcardSubscriptionAvailable: false });
      const connection = new FakeConnection(4);
      handle(session, connection, {
        cmd: 'subscribe',
        messageId: 6,
        subscriptions: [{ topic: 'a/#', qos: 1 }],
      });
      expect((connection.sent[0] as ISubackPacket).granted).toEqual([0x80]);
    });

    it('tells an MQTT 5 client per filter whether a subscription existed', () => {
      const session = new FakeSession();
      session.known.add('a');
      const connection = new FakeConnection();
      handle(session, connection, {
        cmd: 'unsubscribe',
        messageId: 8,
        unsubscriptions: ['a', 'b'],
      });
      expect((connection.sent[0] as IUnsubackPacket).granted).toEqual([
        ReasonCode.Success,
        ReasonCode.NoSubscriptionExisted,
      ]);
    });
  });

  describe('acknowledgements, PINGREQ and DISCONNECT', () => {
    it('hands PUBACK, PUBREC and PUBCOMP to the session with their reason codes', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(session, connection, { cmd: 'puback', messageId: 1 });
      handle(session, connection, { cmd: 'pubrec', messageId: 2, reasonCode: 0x80 });
      handle(session, connection, { cmd: 'pubcomp', messageId: 3 });
      expect(session.acks).toEqual([
        { type: 'puback', packetId: 1, reasonCode: 0 },
        { type: 'pubrec', packetId: 2, reasonCode: 0x80 },
        { type: 'pubcomp', packetId: 3, reasonCode: 0 },
      ]);
    });

    it('disconnects an acknowledgement of the wrong type with 0x82 [MQTT-4.3.2-4]', () => {
      const session = new FakeSession();
      session.ackOutcome = 'wrong-type';
      const connection = new FakeConnection();
      handle(session, connection, { cmd: 'pubcomp', messageId: 3 });
      expect(connection.ending).toMatchObject({
        how: 'disconnect',
        reasonCode: ReasonCode.ProtocolError,
      });
    });

    it('answers PINGREQ with PINGRESP', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(session, connection, { cmd: 'pingreq' });
      expect(connection.commands()).toEqual(['pingresp']);
    });

    it('lets a DISCONNECT with 0x04 keep the Will, and end the connection', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(session, connection, { cmd: 'disconnect', reasonCode: 0x04 });
      expect(connection.ending).toEqual({ how: 'client', reasonCode: 0x04 });
    });

    it('refuses a DISCONNECT that sets an expiry on a session that had 0 (section 3.14.2.2.2)', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      const packet: IDisconnectPacket = {
        cmd: 'disconnect',
        reasonCode: 0,
        properties: { sessionExpiryInterval: 60 },
      };
      handle(session, connection, packet);
      expect(connection.ending).toMatchObject({
        how: 'disconnect',
        reasonCode: ReasonCode.ProtocolError,
      });
    });

    it('disconnects a second CONNECT with 0x82 [MQTT-3.1.0-2]', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      handle(session, connection, connect());
      expect(connection.ending).toMatchObject({ reasonCode: ReasonCode.ProtocolError });
    });

    it('allows only AUTH and DISCONNECT during enhanced authentication', () => {
      const session = new FakeSession();
      const connection = new FakeConnection(5, 'authenticating');
      connection.authenticationMethod = 'SCRAM-SHA-256';
      handle(session, connection, publish());
      expect(connection.ending).toEqual({
        how: 'drop',
        reason: 'only AUTH may follow CONNECT until authentication ends',
      });
    });

    it('refuses AUTH that names another method with 0x82', () => {
      const session = new FakeSession();
      const connection = new FakeConnection();
      connection.authenticationMethod = 'SCRAM-SHA-256';
      handle(session, connection, {
        cmd: 'auth',
        reasonCode: ReasonCode.ReAuthenticate,
        properties: { authenticationMethod: 'PLAIN' },
      });
      expect(connection.ending).toMatchObject({ reasonCode: ReasonCode.ProtocolError });
    });
  });
});
