import { isPromiseLike, type MaybePromise } from '@mqtt-sessions/protocol';
import type { SessionJournal } from '@mqtt-sessions/session';
import type {
  SessionChange,
  SessionKey,
  SessionState,
  SessionStore,
} from '@mqtt-sessions/session-store';

/** A batch of changes and the promise its writers wait on. */
interface Batch {
  readonly changes: SessionChange[];
  readonly stored: Promise<void>;
  settle(error?: unknown): void;
}

/**
 * Group commit: the changes sessions record during one turn of the event loop go to the store as
 * one batch, at the end of the turn, so durability costs one commit per turn, not one per
 * message. Batches are applied one at a time, in order; what a turn records while a batch is being
 * stored goes in the next. Acknowledgements wait on {@link durable}.
 */
export class StoreJournal implements SessionJournal {
  private readonly store: SessionStore;
  private readonly reportError: (error: unknown) => void;
  /** The batch gathering this turn's changes. */
  private open: Batch | undefined = undefined;
  /** The batch being stored. */
  private storing: Batch | undefined = undefined;
  private scheduled = false;
  private closed = false;
  /** How many changes have been recorded. */
  recorded = 0;

  constructor(store: SessionStore, reportError: (error: unknown) => void) {
    this.store = store;
    this.reportError = reportError;
  }

  record(change: SessionChange): void {
    if (this.closed) return;
    this.recorded++;
    this.open ??= newBatch();
    const batch = this.open;
    batch.changes.push(change);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  durable(): MaybePromise<void> {
    return this.open?.stored ?? this.storing?.stored;
  }

  load(key: SessionKey): MaybePromise<SessionState | undefined> {
    return this.store.load(key);
  }

  /**
   * Settles once what is recorded until now is stored (later records are not waited for), and
   * rejects when that failed.
   */
  recordedSoFar(): Promise<void> {
    const waiting = this.durable();
    if (waiting === undefined) return Promise.resolve();
    if (!this.scheduled && this.storing === undefined) this.commit();
    return Promise.resolve(waiting);
  }

  /** Stores what is recorded now, and settles once every batch is stored. */
  async flush(): Promise<void> {
    for (;;) {
      const waiting = this.durable();
      if (waiting === undefined) return;
      if (!this.scheduled && this.storing === undefined) this.commit();
      await waiting.then(undefined, () => undefined);
    }
  }

  /** Stores what is pending, then records nothing more. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private commit(): void {
    this.scheduled = false;
    if (this.storing !== undefined || this.open === undefined) return; // after the one storing
    const batch = this.open;
    this.open = undefined;
    this.storing = batch;
    let applied: MaybePromise<void>;
    try {
      applied = this.store.apply(withoutSuperseded(batch.changes));
    } catch (error) {
      this.finish(batch, error);
      return;
    }
    if (isPromiseLike(applied)) {
      applied.then(
        () => this.finish(batch),
        (error: unknown) => this.finish(batch, error),
      );
    } else {
      this.finish(batch);
    }
  }

  private finish(batch: Batch, error?: unknown): void {
    this.storing = undefined;
    if (error !== undefined) this.reportError(error);
    batch.settle(error);
    // Changes recorded while this batch was being stored go next.
    if (this.open !== undefined && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const stored = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failure is reported once by the journal; the waiters handle it on their own.
  stored.catch(() => undefined);
  return {
    changes: [],
    stored,
    settle: (error) => (error === undefined ? resolve() : reject(error)),
  };
}

/**
 * The batch without the message writes a later change of the same batch makes pointless: a
 * message queued and then sent in one turn is stored once, in its last form, and one queued and
 * acknowledged in one turn not at all (its `message-done` stays, for a copy stored earlier). The
 * store applies changes in order, so what is left has the same outcome with fewer writes.
 */
export function withoutSuperseded(changes: readonly SessionChange[]): readonly SessionChange[] {
  let lastWrite: Map<string, number> | undefined;
  let dropped: Set<number> | undefined;
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i] as SessionChange;
    if (change.type !== 'message' && change.type !== 'message-done') continue;
    const seq = change.type === 'message' ? change.message.seq : change.seq;
    const id = `${change.key.pool}\u0000${change.key.clientId}\u0000${seq}`;
    lastWrite ??= new Map();
    const earlier = lastWrite.get(id);
    if (earlier !== undefined) {
      dropped ??= new Set();
      dropped.add(earlier);
    }
    if (change.type === 'message') lastWrite.set(id, i);
    else lastWrite.delete(id);
  }
  return dropped === undefined ? changes : changes.filter((_, i) => !dropped.has(i));
}
