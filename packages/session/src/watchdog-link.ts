import type { Timers } from '@mqtt-sessions/protocol';
import type { SessionEndReason, WillMessage, WillWatchdogOptions } from '@mqtt-sessions/will';
import type { SessionContext } from './context.js';
import { publishWill } from './will-publish.js';

/** What a session's watchdog needs of the session. */
export interface WatchdogOwner extends SessionContext {
  readonly timers: Timers;
  /** Ends the session for good. */
  end(reason: string): void;
  /** The Will was published: a stored session records that it has none left. */
  willGone(): void;
}

/**
 * What a session's will watchdog calls back: one small object with methods rather than an
 * options object with closures, because it exists once per session (measured: about 170 bytes
 * less per idle connection).
 */
export class WatchdogLink<UC> implements WillWatchdogOptions<UC> {
  private readonly owner: WatchdogOwner;

  constructor(owner: WatchdogOwner) {
    this.owner = owner;
  }

  get userContext(): UC {
    return this.owner.userContext as UC;
  }

  get timers(): Timers {
    return this.owner.timers;
  }

  get connectTimeoutMs(): number {
    return this.owner.options.connectTimeoutMs;
  }

  publishWill(will: WillMessage, userContext: UC): void {
    publishWill(this.owner, will, userContext);
    // With a synchronous ACL the Will's messages were queued just now, so they and its removal
    // are stored together: published once, also across a crash.
    this.owner.willGone();
  }

  endSession(reason: SessionEndReason): void {
    this.owner.end(reason === 'connect-timeout' ? 'connect timeout' : 'expired');
  }

  onError(error: unknown): void {
    this.owner.reportError(error);
  }
}
