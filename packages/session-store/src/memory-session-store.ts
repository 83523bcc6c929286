import type {
  SessionChange,
  SessionKey,
  SessionOutline,
  SessionPage,
  SessionState,
  SessionStore,
  StoredMessage,
  StoredSession,
  StoredSubscription,
} from './contract.js';

interface Entry {
  session: StoredSession;
  readonly subscriptions: Map<string, StoredSubscription>;
  readonly messages: Map<number, StoredMessage>;
  readonly awaitingRelease: Set<number>;
}

/**
 * Sessions in memory: they outlive connections, not the process. What a broker without a durable
 * store does anyway; as a store it serves tests (a pool that "restarts" on the same store) and
 * shows the contract's semantics in a few lines. Values are kept as given: treat them as
 * immutable.
 */
export class MemorySessionStore implements SessionStore {
  private readonly pools = new Map<string, Map<string, Entry>>();
  private closed = false;

  apply(changes: readonly SessionChange[]): void {
    this.check();
    for (const change of changes) {
      if (change.type === 'session') {
        const { pool, clientId } = change.session;
        const entry = this.entryOf(change.session);
        if (entry === undefined) {
          this.poolOf(pool).set(clientId, {
            session: change.session,
            subscriptions: new Map(),
            messages: new Map(),
            awaitingRelease: new Set(),
          });
        } else {
          entry.session = change.session;
        }
        continue;
      }
      if (change.type === 'delete') {
        this.pools.get(change.key.pool)?.delete(change.key.clientId);
        continue;
      }
      const entry = this.entryOf(change.key);
      if (entry === undefined) continue;
      switch (change.type) {
        case 'subscribe':
          entry.subscriptions.set(change.subscription.filter, change.subscription);
          break;
        case 'unsubscribe':
          entry.subscriptions.delete(change.filter);
          break;
        case 'message':
          entry.messages.set(change.message.seq, change.message);
          break;
        case 'message-done':
          entry.messages.delete(change.seq);
          break;
        case 'release-add':
          entry.awaitingRelease.add(change.packetId);
          break;
        case 'release-remove':
          entry.awaitingRelease.delete(change.packetId);
          break;
      }
    }
  }

  load(key: SessionKey): SessionState | undefined {
    this.check();
    const entry = this.entryOf(key);
    return entry === undefined ? undefined : stateOf(entry);
  }

  list(pool: string, cursor: string | null, limit: number): SessionPage {
    this.check();
    const sessions = this.pools.get(pool);
    if (sessions === undefined) return { sessions: [], cursor: null };
    // In client id order, from after the cursor: a page is stable however sessions change.
    const ids = [...sessions.keys()].filter((id) => cursor === null || id > cursor).sort();
    const page = ids.slice(0, limit);
    return {
      sessions: page.map((id) => outlineOf(sessions.get(id) as Entry)),
      cursor: ids.length > limit ? (page.at(-1) as string) : null,
    };
  }

  count(pool: string): number {
    this.check();
    return this.pools.get(pool)?.size ?? 0;
  }

  close(): void {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error('the session store is closed');
  }

  private poolOf(pool: string): Map<string, Entry> {
    let sessions = this.pools.get(pool);
    if (sessions === undefined) {
      sessions = new Map();
      this.pools.set(pool, sessions);
    }
    return sessions;
  }

  private entryOf(key: SessionKey): Entry | undefined {
    return this.pools.get(key.pool)?.get(key.clientId);
  }
}

function outlineOf(entry: Entry): SessionOutline {
  let lastSeq = 0;
  for (const seq of entry.messages.keys()) if (seq > lastSeq) lastSeq = seq;
  return {
    session: entry.session,
    subscriptions: [...entry.subscriptions.values()],
    awaitingRelease: [...entry.awaitingRelease].sort((a, b) => a - b),
    lastSeq,
  };
}

function stateOf(entry: Entry): SessionState {
  return {
    ...outlineOf(entry),
    messages: [...entry.messages.values()].sort((a, b) => a.seq - b.seq),
  };
}

/** Creates a {@link MemorySessionStore}. */
export function createMemorySessionStore(): MemorySessionStore {
  return new MemorySessionStore();
}
