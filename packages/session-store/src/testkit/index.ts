import type { MaybePromise } from '@mqtt-sessions/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  SessionKey,
  SessionStore,
  StoredMessage,
  StoredSession,
  StoredSubscription,
} from '../contract.js';

/** Makes a fresh, empty store for one test. */
export type SessionStoreFactory = () => MaybePromise<SessionStore>;

/** Options of {@link describeSessionStore}. */
export interface DescribeSessionStoreOptions {
  /**
   * For a store that outlives the process: closes `store` and opens it again on the same data.
   * With it, the kit checks that everything survives the reopening.
   */
  reopen?: (store: SessionStore) => MaybePromise<SessionStore>;
  /** Timeout in ms of the larger cases; default 60,000. */
  slowTimeout?: number;
}

const POOL = 'kit';

/** A session record with every field set. */
export function storedSession(
  clientId: string,
  overrides: Partial<StoredSession> = {},
): StoredSession {
  return {
    pool: POOL,
    clientId,
    protocolVersion: 5,
    expiryInterval: 3600,
    expiresAt: undefined,
    userData: { user: 'alice', roles: ['a', 'b'] },
    lastPacketId: 17,
    will: {
      topic: `will/${clientId}`,
      payload: Buffer.from([0, 1, 2, 255]),
      qos: 1,
      retain: true,
      properties: { contentType: 'text/plain', userProperties: { k: ['1', '2'] } },
      propertyBytes: Buffer.from([0x03, 0x00, 0x01, 0x61]),
      delayInterval: 30,
      dueAt: 1_700_000_030_000,
    },
    ...overrides,
  };
}

/** A queued QoS 1 message with every field set. */
export function storedMessage(seq: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    seq,
    topic: `t/${seq}`,
    payload: Buffer.from(`payload ${seq}`),
    qos: 1,
    retain: false,
    properties: { responseTopic: 'r/1', correlationData: Buffer.from([9, 8]) },
    propertyBytes: undefined,
    expiresAt: undefined,
    subscriptionIds: [3, 7],
    shared: undefined,
    stage: 'queued',
    packetId: 0,
    sent: false,
    ...overrides,
  };
}

function subscription(
  filter: string,
  overrides: Partial<StoredSubscription> = {},
): StoredSubscription {
  return {
    filter,
    qos: 2,
    noLocal: true,
    retainAsPublished: true,
    retainHandling: 1,
    subscriptionIdentifier: 42,
    ...overrides,
  };
}

/**
 * Registers vitest suites that check a `SessionStore` against the contract: session records with
 * their Will, subscriptions with every option, queued and in-flight messages in order, QoS 2 ids,
 * deletion, batches, pools kept apart, paging, and (with `reopen`) surviving a restart. Call it at
 * the top level of a test file; `vitest` must be installed (an optional peer).
 *
 * @param name A name for the implementation, shown in the suite names.
 * @param factory Makes a fresh, empty store for each test; the kit closes it afterwards.
 */
export function describeSessionStore(
  name: string,
  factory: SessionStoreFactory,
  options: DescribeSessionStoreOptions = {},
): void {
  const slowTimeout = options.slowTimeout ?? 60_000;
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    const key = (clientId: string, pool = POOL): SessionKey => ({ pool, clientId });
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps a session record with every field, and its Will', async () => {
      const session = storedSession('c1');
      await store.apply([{ type: 'session', session }]);
      const state = await store.load(key('c1'));
      expect(state?.session).toEqual(session);
      expect(state?.session.will?.payload.equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
      expect(state?.subscriptions).toEqual([]);
      expect(state?.messages).toEqual([]);
      expect(state?.awaitingRelease).toEqual([]);
    });

    it('keeps a session without a Will, with any JSON user data', async () => {
      for (const [id, userData] of [
        ['n', null],
        ['s', 'text'],
        ['o', { nested: { list: [1, 'two', null] } }],
      ] as const) {
        await store.apply([
          { type: 'session', session: storedSession(id, { will: undefined, userData }) },
        ]);
        const state = await store.load(key(id));
        expect(state?.session.will).toBeUndefined();
        expect(state?.session.userData).toEqual(userData);
      }
    });

    it('returns undefined for an unknown session, and ignores changes to one', async () => {
      expect(await store.load(key('ghost'))).toBeUndefined();
      await store.apply([
        { type: 'subscribe', key: key('ghost'), subscription: subscription('a') },
        { type: 'message', key: key('ghost'), message: storedMessage(1) },
        { type: 'release-add', key: key('ghost'), packetId: 1 },
      ]);
      expect(await store.load(key('ghost'))).toBeUndefined();
      expect(await store.count(POOL)).toBe(0);
    });

    it('replaces a session record and keeps what belongs to it', async () => {
      await store.apply([
        { type: 'session', session: storedSession('c2') },
        { type: 'subscribe', key: key('c2'), subscription: subscription('a/#') },
        { type: 'message', key: key('c2'), message: storedMessage(1) },
      ]);
      const changed = storedSession('c2', { expiresAt: 1_700_000_999_000, lastPacketId: 99 });
      await store.apply([{ type: 'session', session: changed }]);
      const state = await store.load(key('c2'));
      expect(state?.session).toEqual(changed);
      expect(state?.subscriptions).toHaveLength(1);
      expect(state?.messages).toHaveLength(1);
    });

    it('keeps subscriptions with every MQTT 5 option, shared ones too, replaced by filter', async () => {
      const subscriptions = [
        subscription('a/+/b'),
        subscription('$share/g/jobs/#', { noLocal: false, subscriptionIdentifier: undefined }),
        subscription('x', { qos: 0, retainAsPublished: false, retainHandling: 2 }),
      ];
      await store.apply([
        { type: 'session', session: storedSession('c3') },
        ...subscriptions.map((s) => ({
          type: 'subscribe' as const,
          key: key('c3'),
          subscription: s,
        })),
        {
          type: 'subscribe',
          key: key('c3'),
          subscription: subscription('x', { qos: 1, retainHandling: 0 }),
        },
      ]);
      const state = await store.load(key('c3'));
      const byFilter = new Map(state?.subscriptions.map((s) => [s.filter, s]));
      expect(byFilter.size).toBe(3);
      expect(byFilter.get('a/+/b')).toEqual(subscriptions[0]);
      expect(byFilter.get('$share/g/jobs/#')).toEqual(subscriptions[1]);
      expect(byFilter.get('x')).toEqual(subscription('x', { qos: 1, retainHandling: 0 }));
      await store.apply([{ type: 'unsubscribe', key: key('c3'), filter: 'a/+/b' }]);
      expect((await store.load(key('c3')))?.subscriptions.map((s) => s.filter).sort()).toEqual([
        '$share/g/jobs/#',
        'x',
      ]);
    });

    it('returns messages in seq order, whatever order they came in, with every field', async () => {
      const inFlight = storedMessage(5, {
        qos: 2,
        stage: 'await-pubcomp',
        packetId: 65535,
        sent: true,
        retain: true,
        expiresAt: 1_700_000_060_000,
        propertyBytes: Buffer.from([0x26, 0, 1, 0x61, 0, 1, 0x62]),
        shared: { group: 'g', filter: 'jobs/#' },
        subscriptionIds: undefined,
        payload: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      });
      await store.apply([
        { type: 'session', session: storedSession('c4') },
        { type: 'message', key: key('c4'), message: storedMessage(9) },
        { type: 'message', key: key('c4'), message: inFlight },
        {
          type: 'message',
          key: key('c4'),
          message: storedMessage(7, { payload: Buffer.alloc(0) }),
        },
      ]);
      const messages = (await store.load(key('c4')))?.messages ?? [];
      expect(messages.map((m) => m.seq)).toEqual([5, 7, 9]);
      expect(messages[0]).toEqual(inFlight);
      expect(messages[1]?.payload.length).toBe(0);
      expect(messages[2]).toEqual(storedMessage(9));
    });

    it('updates a message in place by seq, and removes it when done', async () => {
      await store.apply([
        { type: 'session', session: storedSession('c5') },
        { type: 'message', key: key('c5'), message: storedMessage(1) },
        { type: 'message', key: key('c5'), message: storedMessage(2) },
      ]);
      const flying = storedMessage(1, { stage: 'await-puback', packetId: 18, sent: true });
      await store.apply([
        { type: 'message', key: key('c5'), message: flying },
        { type: 'message-done', key: key('c5'), seq: 2 },
      ]);
      expect((await store.load(key('c5')))?.messages).toEqual([flying]);
    });

    it('keeps incoming QoS 2 packet ids waiting for PUBREL', async () => {
      await store.apply([
        { type: 'session', session: storedSession('c6') },
        { type: 'release-add', key: key('c6'), packetId: 300 },
        { type: 'release-add', key: key('c6'), packetId: 2 },
        { type: 'release-add', key: key('c6'), packetId: 65535 },
        { type: 'release-remove', key: key('c6'), packetId: 300 },
      ]);
      expect(
        [...((await store.load(key('c6')))?.awaitingRelease ?? [])].sort((a, b) => a - b),
      ).toEqual([2, 65535]);
    });

    it('applies a batch in order: a later change wins', async () => {
      await store.apply([
        { type: 'session', session: storedSession('c7') },
        { type: 'subscribe', key: key('c7'), subscription: subscription('a') },
        { type: 'unsubscribe', key: key('c7'), filter: 'a' },
        { type: 'message', key: key('c7'), message: storedMessage(1) },
        { type: 'message-done', key: key('c7'), seq: 1 },
        { type: 'delete', key: key('c7') },
        { type: 'session', session: storedSession('c7', { userData: 'fresh' }) },
      ]);
      const state = await store.load(key('c7'));
      expect(state?.session.userData).toBe('fresh');
      expect(state?.subscriptions).toEqual([]);
      expect(state?.messages).toEqual([]);
    });

    it('deletes a session with all that belongs to it; a new one of that id starts empty', async () => {
      await store.apply([
        { type: 'session', session: storedSession('c8') },
        { type: 'subscribe', key: key('c8'), subscription: subscription('a') },
        { type: 'message', key: key('c8'), message: storedMessage(1) },
        { type: 'release-add', key: key('c8'), packetId: 5 },
      ]);
      await store.apply([{ type: 'delete', key: key('c8') }]);
      expect(await store.load(key('c8'))).toBeUndefined();
      await store.apply([{ type: 'session', session: storedSession('c8') }]);
      const state = await store.load(key('c8'));
      expect(state?.subscriptions).toEqual([]);
      expect(state?.messages).toEqual([]);
      expect(state?.awaitingRelease).toEqual([]);
    });

    it('keeps pools apart: one client id in two pools is two sessions', async () => {
      await store.apply([
        { type: 'session', session: storedSession('same') },
        { type: 'session', session: { ...storedSession('same'), pool: 'other', userData: 2 } },
        { type: 'subscribe', key: key('same', 'other'), subscription: subscription('o') },
      ]);
      expect((await store.load(key('same')))?.subscriptions).toEqual([]);
      expect((await store.load(key('same', 'other')))?.session.userData).toBe(2);
      expect(await store.count(POOL)).toBe(1);
      expect(await store.count('other')).toBe(1);
      await store.apply([{ type: 'delete', key: key('same', 'other') }]);
      expect(await store.load(key('same'))).toBeDefined();
    });

    it(
      'lists every session of a pool once, a page at a time',
      async () => {
        const ids = Array.from({ length: 250 }, (_, i) => `l${String(i).padStart(3, '0')}`);
        await store.apply(
          ids.map((id) => ({ type: 'session' as const, session: storedSession(id) })),
        );
        await store.apply([
          { type: 'session', session: { ...storedSession('x'), pool: 'elsewhere' } },
        ]);
        expect(await store.count(POOL)).toBe(250);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await store.list(POOL, cursor, 100);
          expect(page.sessions.length).toBeLessThanOrEqual(100);
          seen.push(...page.sessions.map((s) => s.session.clientId));
          cursor = page.cursor;
          pages++;
        } while (cursor !== null && pages < 10);
        expect(seen.sort()).toEqual(ids);
        expect((await store.list('empty-pool', null, 10)).sessions).toEqual([]);
      },
      slowTimeout,
    );

    it('lists outlines: all but the messages, with the highest seq stored', async () => {
      await store.apply([
        { type: 'session', session: storedSession('o1') },
        { type: 'subscribe', key: key('o1'), subscription: subscription('a/+') },
        { type: 'release-add', key: key('o1'), packetId: 9 },
        { type: 'message', key: key('o1'), message: storedMessage(3) },
        { type: 'message', key: key('o1'), message: storedMessage(12) },
        { type: 'message', key: key('o1'), message: storedMessage(8) },
        { type: 'session', session: storedSession('o2', { will: undefined }) },
      ]);
      const page = await store.list(POOL, null, 10);
      const byId = new Map(page.sessions.map((o) => [o.session.clientId, o]));
      const first = byId.get('o1');
      expect(first?.session).toEqual(storedSession('o1'));
      expect(first?.subscriptions).toEqual([subscription('a/+')]);
      expect(first?.awaitingRelease).toEqual([9]);
      expect(first?.lastSeq).toBe(12);
      expect(first).not.toHaveProperty('messages');
      expect(byId.get('o2')?.lastSeq).toBe(0);
      await store.apply([{ type: 'message-done', key: key('o1'), seq: 12 }]);
      const again = await store.list(POOL, null, 10);
      expect(again.sessions.find((o) => o.session.clientId === 'o1')?.lastSeq).toBe(8);
    });

    it(
      'takes a large batch: 1,000 messages in one apply',
      async () => {
        await store.apply([
          { type: 'session', session: storedSession('big') },
          ...Array.from({ length: 1000 }, (_, i) => ({
            type: 'message' as const,
            key: key('big'),
            message: storedMessage(i + 1),
          })),
        ]);
        const messages = (await store.load(key('big')))?.messages ?? [];
        expect(messages).toHaveLength(1000);
        expect(messages.at(-1)?.seq).toBe(1000);
      },
      slowTimeout,
    );

    if (options.reopen !== undefined) {
      const reopen = options.reopen;
      it(
        'keeps everything across a reopening',
        async () => {
          await store.apply([
            { type: 'session', session: storedSession('r1') },
            { type: 'subscribe', key: key('r1'), subscription: subscription('a/#') },
            { type: 'message', key: key('r1'), message: storedMessage(1) },
            {
              type: 'message',
              key: key('r1'),
              message: storedMessage(2, { stage: 'await-puback', packetId: 9, sent: true }),
            },
            { type: 'release-add', key: key('r1'), packetId: 77 },
          ]);
          const before = await store.load(key('r1'));
          store = await reopen(store);
          expect(await store.load(key('r1'))).toEqual(before);
        },
        slowTimeout,
      );
    }
  });
}
