import type Database from 'better-sqlite3';
import { StoreIncompatibleError } from './errors.js';

/** Marks a database file as one of this package (`PRAGMA application_id`): "MQSS". */
export const APPLICATION_ID = 0x4d515353;

/** The schema version this code writes and reads (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 1;

/**
 * The tables. A session has an integer id that its subscriptions, messages and QoS 2 ids refer
 * to, so they stay small and go with it; a `session` change keeps the id (upsert), a `delete`
 * removes the rows of all four tables. Payloads are BLOBs; properties are JSON (see
 * `properties.ts`); absent optional values are NULL.
 */
const SCHEMA = `
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  pool TEXT NOT NULL,
  client_id TEXT NOT NULL,
  protocol_version INTEGER NOT NULL,
  expiry_interval INTEGER NOT NULL,
  expires_at INTEGER,
  user_data TEXT,
  last_packet_id INTEGER NOT NULL,
  will_topic TEXT,
  will_payload BLOB,
  will_qos INTEGER,
  will_retain INTEGER,
  will_properties TEXT,
  will_property_bytes BLOB,
  will_delay_interval INTEGER,
  will_due_at INTEGER,
  UNIQUE (pool, client_id)
);

CREATE TABLE subscriptions (
  session INTEGER NOT NULL,
  filter TEXT NOT NULL,
  qos INTEGER NOT NULL,
  no_local INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL,
  retain_handling INTEGER NOT NULL,
  subscription_identifier INTEGER,
  PRIMARY KEY (session, filter)
) WITHOUT ROWID;

CREATE TABLE messages (
  session INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  properties TEXT,
  property_bytes BLOB,
  expires_at INTEGER,
  subscription_ids TEXT,
  share_group TEXT,
  share_filter TEXT,
  stage TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  sent INTEGER NOT NULL,
  PRIMARY KEY (session, seq)
) WITHOUT ROWID;

CREATE TABLE awaiting_release (
  session INTEGER NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY (session, packet_id)
) WITHOUT ROWID;

CREATE TABLE retained (
  topic TEXT PRIMARY KEY,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  expires_at INTEGER,
  properties TEXT,
  property_bytes BLOB,
  bytes INTEGER NOT NULL
);

CREATE INDEX retained_expiry ON retained (expires_at) WHERE expires_at IS NOT NULL;
`;

/**
 * Creates the tables in a new database, or checks that an existing one is of this package and of
 * a version this code reads.
 *
 * @throws StoreIncompatibleError for a file of another application or a newer schema.
 */
export function prepareSchema(db: Database.Database, file: string): void {
  db.transaction(() => {
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (applicationId === 0 && version === 0) {
      const tables = db
        .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'")
        .get() as { n: number };
      if (tables.n > 0) {
        throw new StoreIncompatibleError(file, 'it holds tables of another application');
      }
      db.exec(SCHEMA);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return;
    }
    if (applicationId !== APPLICATION_ID) {
      throw new StoreIncompatibleError(
        file,
        `it belongs to another application (application_id ${applicationId})`,
      );
    }
    if (version > SCHEMA_VERSION) {
      throw new StoreIncompatibleError(
        file,
        `its schema version ${version} is newer than this version reads (${SCHEMA_VERSION})`,
      );
    }
  })();
}
