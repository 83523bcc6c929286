import type { LocalRegisterResult, SessionRegistry, TakeoverListener } from './session-registry.js';

const REGISTERED = { ok: true } as const;

/**
 * The in-process registry: two maps, client id to handle and back. Every method answers
 * synchronously. One instance serves one pool.
 *
 * @typeParam H The session handle type, compared with `===`.
 */
export class MemoryRegistry<H> implements SessionRegistry<H> {
  readonly #byClientId = new Map<string, H>();
  readonly #byHandle = new Map<H, string>();

  /**
   * Registers `clientId` to `handle`. Returns `{ ok: true }` when it is free or already registered
   * to `handle`, and `{ ok: false, reason: 'duplicate', existing }` when another handle holds it
   * (nothing changes then; the caller takes the existing session over or refuses).
   *
   * @throws Error when `handle` is already registered under a different client id: a session has
   *   one client id for life.
   */
  register(clientId: string, handle: H): LocalRegisterResult<H> {
    const existing = this.#byClientId.get(clientId);
    if (existing !== undefined) {
      return existing === handle ? REGISTERED : { ok: false, reason: 'duplicate', existing };
    }
    const other = this.#byHandle.get(handle);
    if (other !== undefined) {
      throw new Error(`this handle is already registered as client id ${JSON.stringify(other)}`);
    }
    this.#byClientId.set(clientId, handle);
    this.#byHandle.set(handle, clientId);
    return REGISTERED;
  }

  /**
   * Removes `clientId`; with `handle`, only when it is registered to that handle.
   * Returns true when an entry was removed.
   */
  unregister(clientId: string, handle?: H): boolean {
    const existing = this.#byClientId.get(clientId);
    if (existing === undefined) return false;
    if (handle !== undefined && handle !== existing) return false;
    this.#byClientId.delete(clientId);
    this.#byHandle.delete(existing);
    return true;
  }

  /** The handle registered to `clientId`, or `undefined`. */
  find(clientId: string): H | undefined {
    return this.#byClientId.get(clientId);
  }

  /** The client id `handle` is registered under, or `undefined`. */
  whois(handle: H): string | undefined {
    return this.#byHandle.get(handle);
  }

  /** The number of registered client ids. */
  count(): number {
    return this.#byClientId.size;
  }

  /**
   * The registered handles, live: unregistering during the iteration is safe; a handle registered
   * during the iteration may or may not be visited.
   */
  handles(): IterableIterator<H> {
    return this.#byClientId.values();
  }

  /** Nothing takes a client id over from outside one process: the listener is never called. */
  onTakeover(_listener: TakeoverListener<H>): () => void {
    return noop;
  }
}

function noop(): void {}

/**
 * Creates an empty in-process registry for one pool.
 *
 * @typeParam H The session handle type, compared with `===`.
 */
export function createMemoryRegistry<H>(): MemoryRegistry<H> {
  return new MemoryRegistry<H>();
}
