import type { MaybePromise } from '@mqtt-sessions/protocol';

/** The client id is now registered to the handle (or already was). */
export interface Registered {
  readonly ok: true;
}

/** Another session of this process holds the client id; nothing changed. */
export interface DuplicateClientId<H> {
  readonly ok: false;
  readonly reason: 'duplicate';
  /** The handle that holds the client id. */
  readonly existing: H;
}

/**
 * A session in another broker process holds the client id; nothing changed. Only a registry
 * shared between processes returns this.
 */
export interface RemoteClientId {
  readonly ok: false;
  readonly reason: 'remote';
  /** Names the process that holds the client id, for logs. */
  readonly owner: string;
  /**
   * Asks the owner to give the client id up: its registry calls the owner's
   * {@link SessionRegistry.onTakeover} listeners, the owner ends its session and unregisters.
   * Resolves when the id is free, so that `register` can be called again; rejects when the owner
   * does not answer in the registry's own time limit.
   */
  takeover(): Promise<void>;
}

/** The outcome of {@link SessionRegistry.register}. */
export type RegisterResult<H> = Registered | DuplicateClientId<H> | RemoteClientId;

/** The outcome of a registry that lives in one process: never `'remote'`. */
export type LocalRegisterResult<H> = Registered | DuplicateClientId<H>;

/**
 * Called when another process takes over a client id registered here. The listener ends the local
 * session (MQTT 5: DISCONNECT 0x8E Session taken over) and then calls
 * {@link SessionRegistry.unregister}, which lets the other process register it.
 */
export type TakeoverListener<H> = (clientId: string, handle: H) => void;

/**
 * The client id to session lookup of one pool. `H` is whatever the caller uses as a session
 * handle (a session object, an id); it is compared with `===`.
 *
 * Every method may answer with a Promise, so that a registry shared by several broker processes
 * (on Redis, etcd, a database) can implement the contract. Handles are local objects: `find`,
 * `whois`, `handles` and `existing` only ever return handles registered by this process. A client
 * id held by another process shows up as a `'remote'` result of `register`; see
 * {@link RemoteClientId} and {@link SessionRegistry.onTakeover}.
 *
 * @typeParam H The session handle type.
 */
export interface SessionRegistry<H> {
  /**
   * Registers `clientId` to `handle`. Registering the same pair again is `{ ok: true }`; a client
   * id held by another handle is an error value, and nothing changes.
   */
  register(clientId: string, handle: H): MaybePromise<RegisterResult<H>>;

  /**
   * Removes `clientId`. With `handle`, only when the client id is registered to that handle, so a
   * late unregister of an old session cannot remove its successor. True when something was removed.
   */
  unregister(clientId: string, handle?: H): MaybePromise<boolean>;

  /** The handle registered to `clientId` in this process, or `undefined`. */
  find(clientId: string): MaybePromise<H | undefined>;

  /** The client id `handle` is registered under, or `undefined`. */
  whois(handle: H): MaybePromise<string | undefined>;

  /** The number of client ids registered by this process. */
  count(): MaybePromise<number>;

  /** The handles registered by this process. */
  handles(): Iterable<H>;

  /**
   * Subscribes to takeovers of local client ids by other processes. Returns the unsubscribe
   * function. Registries that live in one process never call the listener and may omit this.
   */
  onTakeover?(listener: TakeoverListener<H>): () => void;
}
