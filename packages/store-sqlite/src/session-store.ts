import type { ProtocolVersion, QoS } from '@mqtt-sessions/protocol';
import type {
  MessageStage,
  SessionChange,
  SessionKey,
  SessionOutline,
  SessionPage,
  SessionState,
  SessionStore,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '@mqtt-sessions/session-store';
import type Database from 'better-sqlite3';
import { decodeProperties, encodeProperties } from './properties.js';

/** The database and the opener's bookkeeping, as a store sees them. */
export interface StoreHost {
  readonly db: Database.Database;
  /** Called once when a store closes: the database closes with the last one. */
  release(): void;
}

interface SessionRow {
  id: number;
  pool: string;
  client_id: string;
  protocol_version: number;
  expiry_interval: number;
  expires_at: number | null;
  user_data: string | null;
  last_packet_id: number;
  will_topic: string | null;
  will_payload: Buffer | null;
  will_qos: number | null;
  will_retain: number | null;
  will_properties: string | null;
  will_property_bytes: Buffer | null;
  will_delay_interval: number | null;
  will_due_at: number | null;
}

/** A session row with the highest `seq` of its messages (null when it has none). */
interface OutlineRow extends SessionRow {
  last_seq: number | null;
}

interface SubscriptionRow {
  filter: string;
  qos: number;
  no_local: number;
  retain_as_published: number;
  retain_handling: number;
  subscription_identifier: number | null;
}

/**
 * A message row as an array (better-sqlite3's raw mode, measured 25-30 % faster than a row
 * object when loading many): the columns of {@link MESSAGE_COLUMNS}, in order.
 */
type MessageRow = [
  seq: number,
  topic: string,
  payload: Buffer,
  qos: number,
  retain: number,
  properties: string | null,
  propertyBytes: Buffer | null,
  expiresAt: number | null,
  subscriptionIds: string | null,
  shareGroup: string | null,
  shareFilter: string | null,
  stage: string,
  packetId: number,
  sent: number,
];

const MESSAGE_COLUMNS =
  'seq, topic, payload, qos, retain, properties, property_bytes, expires_at, subscription_ids, share_group, share_filter, stage, packet_id, sent';

/** The highest seq of the session of a `sessions` row, or NULL when it has no message. */
const LAST_SEQ = '(SELECT max(seq) FROM messages WHERE messages.session = sessions.id) AS last_seq';

/** The id of a stored session, for the statements that change what belongs to it. */
const SESSION_ID = '(SELECT id FROM sessions WHERE pool = ? AND client_id = ?)';

/**
 * A {@link SessionStore} in a SQLite database (see `openSqliteStore`). Every method answers
 * synchronously: better-sqlite3 runs each statement to its end before it returns. `apply` runs
 * one transaction per call with prepared statements, so a batch is stored all or none, also when
 * the process dies meanwhile; it returns once the transaction committed, as durably as the
 * store's `durability` says.
 */
export class SqliteSessionStore implements SessionStore {
  private readonly host: StoreHost;
  private closed = false;
  private readonly statements: ReturnType<typeof prepare>;
  private readonly applyAll: (changes: readonly SessionChange[]) => void;

  /** @internal Made by `openSqliteStore`. */
  constructor(host: StoreHost) {
    this.host = host;
    this.statements = prepare(host.db);
    this.applyAll = host.db.transaction((changes: readonly SessionChange[]) => {
      for (let i = 0; i < changes.length; i++) this.applyOne(changes[i] as SessionChange);
    });
  }

  /** Applies a batch of changes in one transaction: all or none. */
  apply(changes: readonly SessionChange[]): void {
    this.check();
    if (changes.length === 0) return;
    this.applyAll(changes);
  }

  /** One session with its subscriptions, messages in `seq` order and QoS 2 ids, or undefined. */
  load(key: SessionKey): SessionState | undefined {
    this.check();
    const s = this.statements;
    const row = s.session.get(key.pool, key.clientId) as SessionRow | undefined;
    if (row === undefined) return undefined;
    const messages = (s.messages.all(row.id) as MessageRow[]).map(messageOf);
    return {
      session: sessionOf(row),
      subscriptions: (s.subscriptions.all(row.id) as SubscriptionRow[]).map(subscriptionOf),
      awaitingRelease: s.releases.pluck().all(row.id) as number[],
      lastSeq: messages.length === 0 ? 0 : (messages.at(-1) as StoredMessage).seq,
      messages,
    };
  }

  /**
   * A page of the outlines of a pool's sessions, in client id order; the cursor is the last
   * client id. No message row is read: `lastSeq` is the last key of the session's messages in the
   * primary key index (`max(seq)`), and the subscriptions and QoS 2 ids of the page come in one
   * query each.
   */
  list(pool: string, cursor: string | null, limit: number): SessionPage {
    this.check();
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`session page limit must be a positive integer, got ${String(limit)}`);
    }
    const s = this.statements;
    const rows = (
      cursor === null ? s.firstPage.all(pool, limit + 1) : s.nextPage.all(pool, cursor, limit + 1)
    ) as OutlineRow[];
    const more = rows.length > limit;
    if (more) rows.length = limit;
    if (rows.length === 0) return { sessions: [], cursor: null };
    // The page's subscriptions and QoS 2 ids: one query each for the page's session ids.
    const ids = JSON.stringify(rows.map((row) => row.id));
    const subscriptions = groupBy(
      s.pageSubscriptions.all(ids) as (SubscriptionRow & { session: number })[],
      (row) => row.session,
      subscriptionOf,
    );
    const releases = groupBy(
      s.pageReleases.all(ids) as [session: number, packetId: number][],
      (row) => row[0],
      (row) => row[1],
    );
    const sessions: SessionOutline[] = rows.map((row) => ({
      session: sessionOf(row),
      subscriptions: subscriptions.get(row.id) ?? [],
      awaitingRelease: releases.get(row.id) ?? [],
      lastSeq: row.last_seq ?? 0,
    }));
    return { sessions, cursor: more ? (rows[limit - 1] as OutlineRow).client_id : null };
  }

  /** The number of stored sessions of a pool. */
  count(pool: string): number {
    this.check();
    return (this.statements.count.get(pool) as { n: number }).n;
  }

  /** Closes this store; the database closes once the retained store is closed too. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.release();
  }

  private check(): void {
    if (this.closed) throw new Error('the session store is closed');
  }

  private applyOne(change: SessionChange): void {
    const s = this.statements;
    switch (change.type) {
      case 'session': {
        const session = change.session;
        const will = session.will;
        s.upsertSession.run(
          session.pool,
          session.clientId,
          session.protocolVersion,
          session.expiryInterval,
          session.expiresAt ?? null,
          session.userData === undefined ? null : JSON.stringify(session.userData),
          session.lastPacketId,
          will?.topic ?? null,
          will?.payload ?? null,
          will?.qos ?? null,
          will === undefined ? null : will.retain ? 1 : 0,
          will === undefined ? null : encodeProperties(will.properties),
          will?.propertyBytes ?? null,
          will?.delayInterval ?? null,
          will?.dueAt ?? null,
        );
        return;
      }
      case 'delete': {
        const { pool, clientId } = change.key;
        const row = s.sessionId.get(pool, clientId) as { id: number } | undefined;
        if (row === undefined) return;
        s.deleteSubscriptions.run(row.id);
        s.deleteMessages.run(row.id);
        s.deleteReleases.run(row.id);
        s.deleteSession.run(row.id);
        return;
      }
      case 'subscribe': {
        const sub = change.subscription;
        s.upsertSubscription.run(
          sub.filter,
          sub.qos,
          sub.noLocal ? 1 : 0,
          sub.retainAsPublished ? 1 : 0,
          sub.retainHandling,
          sub.subscriptionIdentifier ?? null,
          change.key.pool,
          change.key.clientId,
        );
        return;
      }
      case 'unsubscribe':
        s.deleteSubscription.run(change.key.pool, change.key.clientId, change.filter);
        return;
      case 'message': {
        const m = change.message;
        s.upsertMessage.run(
          m.seq,
          m.topic,
          m.payload,
          m.qos,
          m.retain ? 1 : 0,
          encodeProperties(m.properties),
          m.propertyBytes ?? null,
          m.expiresAt ?? null,
          m.subscriptionIds === undefined ? null : JSON.stringify(m.subscriptionIds),
          m.shared?.group ?? null,
          m.shared?.filter ?? null,
          m.stage,
          m.packetId,
          m.sent ? 1 : 0,
          change.key.pool,
          change.key.clientId,
        );
        return;
      }
      case 'message-done':
        s.deleteMessage.run(change.key.pool, change.key.clientId, change.seq);
        return;
      case 'release-add':
        s.addRelease.run(change.packetId, change.key.pool, change.key.clientId);
        return;
      case 'release-remove':
        s.deleteRelease.run(change.key.pool, change.key.clientId, change.packetId);
        return;
    }
  }
}

function prepare(db: Database.Database) {
  return {
    session: db.prepare('SELECT * FROM sessions WHERE pool = ? AND client_id = ?'),
    sessionId: db.prepare('SELECT id FROM sessions WHERE pool = ? AND client_id = ?'),
    // max(seq) of one session reads the last entry of the messages' primary key, not the rows.
    firstPage: db.prepare(
      `SELECT *, ${LAST_SEQ} FROM sessions WHERE pool = ? ORDER BY client_id LIMIT ?`,
    ),
    nextPage: db.prepare(
      `SELECT *, ${LAST_SEQ} FROM sessions WHERE pool = ? AND client_id > ? ORDER BY client_id LIMIT ?`,
    ),
    pageSubscriptions: db.prepare(
      `SELECT session, filter, qos, no_local, retain_as_published, retain_handling, subscription_identifier
       FROM subscriptions WHERE session IN (SELECT value FROM json_each(?))
       ORDER BY session, filter`,
    ),
    pageReleases: db
      .prepare(
        `SELECT session, packet_id FROM awaiting_release
         WHERE session IN (SELECT value FROM json_each(?)) ORDER BY session, packet_id`,
      )
      .raw(true),
    count: db.prepare('SELECT count(*) AS n FROM sessions WHERE pool = ?'),
    subscriptions: db.prepare(
      'SELECT filter, qos, no_local, retain_as_published, retain_handling, subscription_identifier FROM subscriptions WHERE session = ?',
    ),
    messages: db
      .prepare(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session = ? ORDER BY seq`)
      .raw(true),
    releases: db.prepare(
      'SELECT packet_id FROM awaiting_release WHERE session = ? ORDER BY packet_id',
    ),
    upsertSession: db.prepare(
      `INSERT INTO sessions (pool, client_id, protocol_version, expiry_interval, expires_at,
         user_data, last_packet_id, will_topic, will_payload, will_qos, will_retain,
         will_properties, will_property_bytes, will_delay_interval, will_due_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (pool, client_id) DO UPDATE SET
         protocol_version = excluded.protocol_version,
         expiry_interval = excluded.expiry_interval,
         expires_at = excluded.expires_at,
         user_data = excluded.user_data,
         last_packet_id = excluded.last_packet_id,
         will_topic = excluded.will_topic,
         will_payload = excluded.will_payload,
         will_qos = excluded.will_qos,
         will_retain = excluded.will_retain,
         will_properties = excluded.will_properties,
         will_property_bytes = excluded.will_property_bytes,
         will_delay_interval = excluded.will_delay_interval,
         will_due_at = excluded.will_due_at`,
    ),
    deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
    deleteSubscriptions: db.prepare('DELETE FROM subscriptions WHERE session = ?'),
    deleteMessages: db.prepare('DELETE FROM messages WHERE session = ?'),
    deleteReleases: db.prepare('DELETE FROM awaiting_release WHERE session = ?'),
    // A change to a session that is not stored selects no id, so it inserts or deletes nothing.
    upsertSubscription: db.prepare(
      `INSERT INTO subscriptions (session, filter, qos, no_local, retain_as_published,
         retain_handling, subscription_identifier)
       SELECT id, ?, ?, ?, ?, ?, ? FROM sessions WHERE pool = ? AND client_id = ?
       ON CONFLICT (session, filter) DO UPDATE SET
         qos = excluded.qos,
         no_local = excluded.no_local,
         retain_as_published = excluded.retain_as_published,
         retain_handling = excluded.retain_handling,
         subscription_identifier = excluded.subscription_identifier`,
    ),
    deleteSubscription: db.prepare(
      `DELETE FROM subscriptions WHERE session = ${SESSION_ID} AND filter = ?`,
    ),
    upsertMessage: db.prepare(
      `INSERT INTO messages (session, seq, topic, payload, qos, retain, properties,
         property_bytes, expires_at, subscription_ids, share_group, share_filter, stage,
         packet_id, sent)
       SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM sessions
       WHERE pool = ? AND client_id = ?
       ON CONFLICT (session, seq) DO UPDATE SET
         topic = excluded.topic,
         payload = excluded.payload,
         qos = excluded.qos,
         retain = excluded.retain,
         properties = excluded.properties,
         property_bytes = excluded.property_bytes,
         expires_at = excluded.expires_at,
         subscription_ids = excluded.subscription_ids,
         share_group = excluded.share_group,
         share_filter = excluded.share_filter,
         stage = excluded.stage,
         packet_id = excluded.packet_id,
         sent = excluded.sent`,
    ),
    deleteMessage: db.prepare(`DELETE FROM messages WHERE session = ${SESSION_ID} AND seq = ?`),
    addRelease: db.prepare(
      `INSERT OR IGNORE INTO awaiting_release (session, packet_id)
       SELECT id, ? FROM sessions WHERE pool = ? AND client_id = ?`,
    ),
    deleteRelease: db.prepare(
      `DELETE FROM awaiting_release WHERE session = ${SESSION_ID} AND packet_id = ?`,
    ),
  };
}

/** The values of `rows` by the number `keyOf` gives, in the order of `rows`. */
function groupBy<R, V>(
  rows: readonly R[],
  keyOf: (row: R) => number,
  entryOf: (row: R) => V,
): Map<number, V[]> {
  const groups = new Map<number, V[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [entryOf(row)]);
    else group.push(entryOf(row));
  }
  return groups;
}

function sessionOf(row: SessionRow): StoredSession {
  return {
    pool: row.pool,
    clientId: row.client_id,
    protocolVersion: row.protocol_version as ProtocolVersion,
    expiryInterval: row.expiry_interval,
    expiresAt: row.expires_at ?? undefined,
    userData: row.user_data === null ? undefined : JSON.parse(row.user_data),
    lastPacketId: row.last_packet_id,
    will: willOf(row),
  };
}

function willOf(row: SessionRow): StoredWill | undefined {
  if (row.will_topic === null) return undefined;
  return {
    topic: row.will_topic,
    payload: row.will_payload ?? Buffer.alloc(0),
    qos: row.will_qos as QoS,
    retain: row.will_retain === 1,
    properties: decodeProperties(row.will_properties),
    propertyBytes: row.will_property_bytes ?? undefined,
    delayInterval: row.will_delay_interval ?? 0,
    dueAt: row.will_due_at ?? undefined,
  };
}

function subscriptionOf(row: SubscriptionRow): StoredSubscription {
  return {
    filter: row.filter,
    qos: row.qos as QoS,
    noLocal: row.no_local === 1,
    retainAsPublished: row.retain_as_published === 1,
    retainHandling: row.retain_handling as 0 | 1 | 2,
    subscriptionIdentifier: row.subscription_identifier ?? undefined,
  };
}

function messageOf(row: MessageRow): StoredMessage {
  const [seq, topic, payload, qos, retain, properties, propertyBytes, expiresAt] = row;
  const [, , , , , , , , subscriptionIds, shareGroup, shareFilter, stage, packetId, sent] = row;
  return {
    seq,
    topic,
    payload,
    qos: qos as 1 | 2,
    retain: retain === 1,
    properties: decodeProperties(properties),
    propertyBytes: propertyBytes ?? undefined,
    expiresAt: expiresAt ?? undefined,
    subscriptionIds:
      subscriptionIds === null ? undefined : (JSON.parse(subscriptionIds) as number[]),
    shared: shareGroup === null ? undefined : { group: shareGroup, filter: shareFilter ?? '' },
    stage: stage as MessageStage,
    packetId,
    sent: sent === 1,
  };
}
