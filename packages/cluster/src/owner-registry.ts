import { AsyncLocalStorage } from 'node:async_hooks';
import type { MaybePromise } from '@mqtt-sessions/protocol';
import {
  createMemoryRegistry,
  type RegisterResult,
  type SessionRegistry,
  type TakeoverListener,
} from '@mqtt-sessions/registry';

/** Marks the calls made while a client id is adopted ({@link OwnerRegistry.adopt}). */
const adoption = new AsyncLocalStorage<boolean>();

/** What an {@link OwnerRegistry} needs of its cluster node. */
export interface OwnerSite {
  /**
   * Takes a client id for this node; resolves to '' or to the node that holds it. `adopting`:
   * this node takes it from a node that died, as part of that node's duties.
   */
  claim(pool: string, clientId: string, adopting: boolean): Promise<string>;
  /** Gives a client id up, when this node holds it. */
  release(pool: string, clientId: string): Promise<void>;
  /**
   * True while the pool shuts down: its stored sessions keep their owner, so that the node that
   * takes over this one's duties (or this node, back with the same node id) takes them back.
   */
  keepsOwnership(pool: string): boolean;
  /** Asks `owner` to give a client id up, and resolves once it has (or has died). */
  takeOver(pool: string, clientId: string, owner: string): Promise<void>;
  /** Waits until what the pool's sessions recorded is stored: before a client id moves on. */
  flushStore(pool: string): Promise<void>;
}

/**
 * The client id registry of one pool on one node of a cluster: the sessions of this process, as
 * the memory registry keeps them, plus one owner per client id cluster-wide, a key in Redis. A
 * client id that a live node holds is `'remote'`; taking it over asks that node to hand its
 * session over (it stores it and ends it here) before this node registers it.
 */
export class OwnerRegistry<H> implements SessionRegistry<H> {
  private readonly local = createMemoryRegistry<H>();
  /** Client ids being adopted: anything else that asks for them waits until that is done. */
  private readonly reserved = new Map<string, Promise<void>>();
  private readonly listeners = new Set<TakeoverListener<H>>();
  private readonly site: OwnerSite;
  private readonly pool: string;

  constructor(site: OwnerSite, pool: string) {
    this.site = site;
    this.pool = pool;
  }

  /**
   * Adopts a client id: `take` registers and restores its session (through this registry), while
   * every other `find` and `register` of the id waits, so that a CONNECT that comes meanwhile
   * finds the adopted session and not an empty one.
   */
  async adopt<T>(clientId: string, take: () => Promise<T>): Promise<T> {
    let done!: () => void;
    this.reserved.set(clientId, new Promise<void>((resolve) => (done = resolve)));
    try {
      return await adoption.run(true, take);
    } finally {
      this.reserved.delete(clientId);
      done();
    }
  }

  register(clientId: string, handle: H): MaybePromise<RegisterResult<H>> {
    const waiting = this.waitingFor(clientId);
    if (waiting !== undefined) return waiting.then(() => this.register(clientId, handle));
    const registered = this.local.register(clientId, handle);
    if (!registered.ok) return registered;
    return this.site.claim(this.pool, clientId, adoption.getStore() === true).then(
      (owner): RegisterResult<H> => {
        if (owner === '') return registered;
        this.local.unregister(clientId, handle);
        return {
          ok: false,
          reason: 'remote',
          owner,
          takeover: () => this.site.takeOver(this.pool, clientId, owner),
        };
      },
      (error: unknown) => {
        // Not claimed: nothing of it may stay here, or the next CONNECT would find it.
        this.local.unregister(clientId, handle);
        throw error;
      },
    );
  }

  unregister(clientId: string, handle?: H): MaybePromise<boolean> {
    const removed = this.local.unregister(clientId, handle);
    if (!removed) return false;
    if (this.site.keepsOwnership(this.pool)) return true;
    // The session's last changes are stored before another node may load it.
    return this.site.flushStore(this.pool).then(async () => {
      // A new session of the client id came here meanwhile: the id is its now.
      if (this.local.find(clientId) === undefined) await this.site.release(this.pool, clientId);
      return true;
    });
  }

  find(clientId: string): MaybePromise<H | undefined> {
    const waiting = this.waitingFor(clientId);
    if (waiting !== undefined) return waiting.then(() => this.find(clientId));
    return this.local.find(clientId);
  }

  /** Whether a session of this process holds the client id now. */
  holds(clientId: string): boolean {
    return this.local.find(clientId) !== undefined;
  }

  whois(handle: H): MaybePromise<string | undefined> {
    return this.local.whois(handle);
  }

  count(): MaybePromise<number> {
    return this.local.count();
  }

  handles(): Iterable<H> {
    return this.local.handles();
  }

  onTakeover(listener: TakeoverListener<H>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The adoption of a client id that a caller outside it must wait for, if any. */
  private waitingFor(clientId: string): Promise<void> | undefined {
    if (this.reserved.size === 0 || adoption.getStore() === true) return undefined;
    return this.reserved.get(clientId);
  }

  /**
   * Another node asks for a client id: the session here is handed over (the listeners end it
   * and unregister it, which releases the id), or the id is released at once when no session
   * here holds it any more.
   */
  async handOver(clientId: string): Promise<void> {
    const handle = this.local.find(clientId);
    if (handle === undefined) {
      await this.site.release(this.pool, clientId);
      return;
    }
    for (const listener of this.listeners) listener(clientId, handle);
  }
}
