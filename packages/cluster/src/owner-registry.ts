import { after, type MaybePromise } from '@mqtt-sessions/protocol';
import {
  createMemoryRegistry,
  type RegisterResult,
  type SessionRegistry,
  type TakeoverListener,
} from '@mqtt-sessions/registry';

/** What an {@link OwnerRegistry} needs of its cluster node. */
export interface OwnerSite {
  /** Takes a client id for this node; resolves to '' or to the live node that holds it. */
  claim(pool: string, clientId: string): Promise<string>;
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
  private readonly listeners = new Set<TakeoverListener<H>>();
  private readonly site: OwnerSite;
  private readonly pool: string;

  constructor(site: OwnerSite, pool: string) {
    this.site = site;
    this.pool = pool;
  }

  register(clientId: string, handle: H): MaybePromise<RegisterResult<H>> {
    const registered = this.local.register(clientId, handle);
    if (!registered.ok) return registered;
    return this.site.claim(this.pool, clientId).then(async (owner): Promise<RegisterResult<H>> => {
      if (owner === '') return registered;
      await this.local.unregister(clientId, handle);
      return {
        ok: false,
        reason: 'remote',
        owner,
        takeover: () => this.site.takeOver(this.pool, clientId, owner),
      };
    });
  }

  unregister(clientId: string, handle?: H): MaybePromise<boolean> {
    return after(this.local.unregister(clientId, handle), (removed) => {
      if (!removed) return false;
      if (this.site.keepsOwnership(this.pool)) return true;
      // The session's last changes are stored before another node may load it.
      return this.site
        .flushStore(this.pool)
        .then(() => this.site.release(this.pool, clientId))
        .then(() => true);
    });
  }

  find(clientId: string): MaybePromise<H | undefined> {
    return this.local.find(clientId);
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
