import {
  MAX_FOUR_BYTE_INTEGER,
  SESSION_NEVER_EXPIRES,
  systemTimers,
  type Timers,
} from '@mqtt-sessions/protocol';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './constants.js';
import { schedule } from './schedule.js';
import type { WillMessage } from './will-message.js';

/** Where a watchdog is in its session's life; see {@link WillWatchdog.state}. */
export type WatchdogState = 'connecting' | 'connected' | 'disconnected' | 'ended';

/** Why a watchdog asks its owner to end the session. */
export type SessionEndReason = 'connect-timeout' | 'session-expired';

/** What a {@link WillWatchdog} is told and given. */
export interface WillWatchdogOptions<UC> {
  /**
   * Publishes a Will on the session's behalf, with the latest user context (for the ACL check).
   * Called at most once per Will. It may return a Promise (typed `void` so that any function
   * fits): it is not awaited, and its rejection goes to `onError` when one is given.
   */
  publishWill(will: WillMessage, userContext: UC): void;
  /**
   * Ends the session: its CONNECT never completed in time, or it expired. Called at most once,
   * after the Will (if any) was handed to `publishWill`. The watchdog is inert from then on.
   */
  endSession(reason: SessionEndReason): void;
  /** The user context to publish the Will with until {@link WillWatchdog.setUserContext}. */
  userContext: UC;
  /** The clock. Default: the global timers, looked up at call time ({@link systemTimers}). */
  timers?: Timers;
  /**
   * How long a new session may take to finish its CONNECT (enhanced authentication included),
   * in milliseconds. Default 20 000; `Infinity` disables the limit.
   */
  connectTimeoutMs?: number;
  /**
   * Receives what a callback threw or rejected with. Without it, an error thrown by a callback
   * is rethrown to the caller of the method that ran it (or out of the timer that ran it) once
   * the watchdog's own state is settled; a rejection is left unhandled.
   */
  onError?(error: unknown): void;
}

/** How a connection ended, for {@link WillWatchdog.disconnected}. */
export interface DisconnectOptions {
  /**
   * False after a DISCONNECT with reason 0x00 (Normal disconnection): the Will is deleted
   * [MQTT-3.1.2-10]. True for every other end of the connection.
   */
  publishWill: boolean;
  /**
   * The Session Expiry Interval in seconds, from the DISCONNECT when it has one. Default: the
   * value given to {@link WillWatchdog.connected}. 0xFFFFFFFF means never.
   */
  sessionExpirySeconds?: number;
}

/**
 * The per-session watchdog: it ends a session whose CONNECT does not complete in time, publishes
 * the Will after its delay, and ends the session when it expires. It keeps no timers while the
 * client is connected. It never touches the session itself: it calls the injected `publishWill`
 * and `endSession`.
 *
 * Every method may be called in any state: calls that do not apply are ignored, so a second
 * `disconnected`, or a timer that fires after `stop`, does nothing.
 *
 * @typeParam UC The user context type of the runtime.
 */
export class WillWatchdog<UC> {
  readonly #options: WillWatchdogOptions<UC>;
  readonly #timers: Timers;
  readonly #connectTimeoutMs: number;
  #userContext: UC;
  #state: WatchdogState = 'connecting';
  #will: WillMessage | undefined;
  #sessionExpirySeconds = 0;
  #cancelConnect: (() => void) | undefined;
  #cancelWill: (() => void) | undefined;
  #cancelExpiry: (() => void) | undefined;
  #willDeadline: number | undefined;
  #expiryDeadline: number | undefined;

  /**
   * @throws RangeError when `connectTimeoutMs` is negative or not a number.
   */
  constructor(options: WillWatchdogOptions<UC>) {
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (!(connectTimeoutMs >= 0)) {
      throw new RangeError(`connectTimeoutMs must be 0 or more, got ${connectTimeoutMs}`);
    }
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#userContext = options.userContext;
  }

  /** Where the session is: `'connecting'` until `connected`, `'ended'` once inert. For debugging. */
  get state(): WatchdogState {
    return this.#state;
  }

  /** Arms the connect timeout of a new session. Does nothing once armed or after `connected`. */
  start(): void {
    if (this.#state !== 'connecting' || this.#cancelConnect !== undefined) return;
    this.#armConnectTimeout();
  }

  /**
   * An enhanced-authentication step arrived for a new session (AUTH, reason 0x18): the connect
   * timeout starts again, so each round trip gets the full time. Unlike the original, which
   * cancelled the timeout here, a stalled exchange cannot keep a session alive for ever: the
   * server may end the handshake at any point (MQTT 5 section 4.12). Ignored in other states:
   * a reconnect to a disconnected session keeps that session's expiry running until `connected`.
   */
  authenticating(): void {
    if (this.#state !== 'connecting') return;
    this.#cancelConnect?.();
    this.#armConnectTimeout();
  }

  /**
   * The CONNECT was accepted (CONNACK 0x00). Cancels every timer, so a reconnect before the Will
   * Delay Interval passes means the Will is not sent [MQTT-3.1.3-9], and stores this connection's
   * Will (or none), replacing any earlier one. A takeover by a new connection without clean start
   * is also just `connected`: the old connection's Will is dropped unpublished, as the new
   * connection opened before its delay elapsed [MQTT-3.1.2-8].
   *
   * @param will The Will of this CONNECT, or `undefined` for none.
   * @param sessionExpirySeconds The session's expiry in seconds (0xFFFFFFFF = never), used by
   *   `disconnected` when the connection ends without saying otherwise.
   * @throws RangeError when an interval is not an integer from 0 to 0xFFFFFFFF.
   */
  connected(will: WillMessage | undefined, sessionExpirySeconds: number): void {
    if (this.#state === 'ended') return;
    checkSeconds('sessionExpirySeconds', sessionExpirySeconds);
    if (will !== undefined) checkSeconds('will.delayInterval', will.delayInterval);
    this.#clearTimers();
    this.#will = will;
    this.#sessionExpirySeconds = sessionExpirySeconds;
    this.#state = 'connected';
  }

  /**
   * The connection ended. Only the first call after `connected` counts; during the handshake of
   * a new session there is no Will, and the default expiry of 0 ends the session at once. A kept
   * Will is published after its delay or when the session ends, whichever is first
   * [MQTT-3.1.2-8]; a delay of 0 publishes it now. The session ends at its expiry; an expiry of
   * 0 ends it now, and then `publishWill` and `endSession` run before this method returns.
   *
   * @throws RangeError when `sessionExpirySeconds` is not an integer from 0 to 0xFFFFFFFF.
   */
  disconnected(options: DisconnectOptions): void {
    if (this.#state !== 'connected' && this.#state !== 'connecting') return;
    const expirySeconds = options.sessionExpirySeconds ?? this.#sessionExpirySeconds;
    checkSeconds('sessionExpirySeconds', expirySeconds);
    this.#clearTimers();
    this.#state = 'disconnected';
    // [MQTT-3.1.2-10] DISCONNECT 0x00 deletes the Will.
    if (!options.publishWill) this.#will = undefined;
    if (expirySeconds === 0) {
      this.#expire();
      return;
    }
    // Timers are armed before any callback runs, so a callback may call back into the watchdog.
    const expiryMs = expirySeconds === SESSION_NEVER_EXPIRES ? Infinity : expirySeconds * 1000;
    const now = this.#timers.now();
    this.#expiryDeadline = now + expiryMs;
    if (expiryMs !== Infinity) {
      this.#cancelExpiry = schedule(this.#timers, expiryMs, () => this.#expire());
    }
    if (this.#will === undefined) return;
    const delayMs = this.#will.delayInterval * 1000;
    // [MQTT-3.1.2-8] the session ends first: the Will goes out with the end, from #expire.
    if (delayMs >= expiryMs) return;
    if (delayMs === 0) {
      this.#publishPendingWill();
      return;
    }
    this.#willDeadline = now + delayMs;
    this.#cancelWill = schedule(this.#timers, delayMs, () => this.#publishPendingWill());
  }

  /**
   * Replaces the user context the Will is published with. The Will always goes out with the
   * latest one, so an ACL change after CONNECT applies to it (the original used the context of
   * the CONNECT).
   */
  setUserContext(userContext: UC): void {
    this.#userContext = userContext;
  }

  /** Deletes the stored or pending Will without publishing it; the session timers keep running. */
  discardWill(): void {
    this.#will = undefined;
    this.#cancelWill?.();
    this.#cancelWill = undefined;
    this.#willDeadline = undefined;
  }

  /**
   * The owner ended the session by other means (kill, takeover with clean start, server
   * shutdown): a Will not yet published or deleted goes out now, because the session ended
   * [MQTT-3.1.2-8]. The watchdog is inert afterwards; `endSession` is not called.
   */
  sessionEnded(): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#clearTimers();
    const will = this.#takeWill();
    if (will === undefined) return;
    const errors: unknown[] = [];
    this.#call(errors, () => this.#options.publishWill(will, this.#userContext));
    this.#raise(errors);
  }

  /** Cancels everything without publishing or ending anything, and makes the watchdog inert. */
  stop(): void {
    this.#state = 'ended';
    this.#clearTimers();
    this.#will = undefined;
  }

  /**
   * Milliseconds until a disconnected session expires: `Infinity` when it never does, `undefined`
   * unless the state is `'disconnected'`.
   */
  remainingSessionExpiryMs(): number | undefined {
    if (this.#state !== 'disconnected' || this.#expiryDeadline === undefined) return undefined;
    if (this.#expiryDeadline === Infinity) return Infinity;
    return Math.max(0, this.#expiryDeadline - this.#timers.now());
  }

  /** Milliseconds until the pending Will is published, or `undefined` when none is pending. */
  remainingWillDelayMs(): number | undefined {
    if (this.#state !== 'disconnected' || this.#will === undefined) return undefined;
    if (this.#willDeadline === undefined) return this.remainingSessionExpiryMs();
    return Math.max(0, this.#willDeadline - this.#timers.now());
  }

  #armConnectTimeout(): void {
    if (this.#connectTimeoutMs === Infinity) return;
    this.#cancelConnect = schedule(this.#timers, this.#connectTimeoutMs, () => {
      if (this.#state !== 'connecting') return;
      this.#state = 'ended';
      this.#clearTimers();
      const errors: unknown[] = [];
      this.#call(errors, () => this.#options.endSession('connect-timeout'));
      this.#raise(errors);
    });
  }

  #publishPendingWill(): void {
    this.#cancelWill = undefined;
    this.#willDeadline = undefined;
    if (this.#state !== 'disconnected') return;
    const will = this.#takeWill();
    if (will === undefined) return;
    const errors: unknown[] = [];
    this.#call(errors, () => this.#options.publishWill(will, this.#userContext));
    this.#raise(errors);
  }

  #expire(): void {
    if (this.#state !== 'disconnected') return;
    this.#state = 'ended';
    this.#clearTimers();
    const will = this.#takeWill();
    const errors: unknown[] = [];
    if (will !== undefined) {
      this.#call(errors, () => this.#options.publishWill(will, this.#userContext));
    }
    this.#call(errors, () => this.#options.endSession('session-expired'));
    this.#raise(errors);
  }

  // [MQTT-3.1.2-10] a Will is removed from the session once it is published.
  #takeWill(): WillMessage | undefined {
    const will = this.#will;
    this.#will = undefined;
    return will;
  }

  #clearTimers(): void {
    this.#cancelConnect?.();
    this.#cancelWill?.();
    this.#cancelExpiry?.();
    this.#cancelConnect = undefined;
    this.#cancelWill = undefined;
    this.#cancelExpiry = undefined;
    this.#willDeadline = undefined;
    this.#expiryDeadline = undefined;
  }

  #call(errors: unknown[], callback: () => void): void {
    try {
      const result: unknown = callback();
      const onError = this.#options.onError;
      if (onError !== undefined && isThenable(result)) {
        result.then(undefined, (error: unknown) => onError.call(this.#options, error));
      }
    } catch (error) {
      errors.push(error);
    }
  }

  #raise(errors: unknown[]): void {
    if (errors.length === 0) return;
    const onError = this.#options.onError;
    if (onError !== undefined) {
      for (const error of errors) onError.call(this.#options, error);
      return;
    }
    throw errors.length === 1
      ? errors[0]
      : new AggregateError(errors, 'Will watchdog callbacks threw');
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

function checkSeconds(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FOUR_BYTE_INTEGER) {
    throw new RangeError(`${name} must be an integer from 0 to 0xFFFFFFFF, got ${value}`);
  }
}
