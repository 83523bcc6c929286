import { after, type MaybePromise, type Timers } from '@mqtt-sessions/protocol';
import { createClientId } from '@mqtt-sessions/registry';
import type {
  DeliveredMessage,
  ServerSubscription,
  SubscribeOptions,
  SubscribeOutcome,
} from './server-api.js';

/** What request/response needs of a pool: server-side subscriptions and timers. */
export interface ResponseSite<UC> {
  readonly timers: Timers;
  serverSubscribe(
    filter: string,
    callback: (message: DeliveredMessage) => void,
    options: SubscribeOptions<UC>,
  ): MaybePromise<SubscribeOutcome>;
}

/** How many unclaimed responses are kept for a later awaitResponse. */
const MAX_UNCLAIMED = 1000;

interface Waiter {
  resolve(message: DeliveredMessage): void;
  reject(error: Error): void;
  timer: unknown;
}

/**
 * Request/response between server code and clients: a pool-wide base topic
 * `reply/call-{random}` with one subscription to `{base}/+`, and a numbered topic per request. A
 * response that arrives before anyone waits for it is kept (up to a limit) until claimed.
 */
export class ResponseTopics<UC> {
  private readonly pool: ResponseSite<UC>;
  private base: string | undefined = undefined;
  private subscription: ServerSubscription | undefined = undefined;
  private counter = 0;
  private readonly waiters = new Map<string, Waiter>();
  private readonly unclaimed = new Map<string, DeliveredMessage>();

  constructor(pool: ResponseSite<UC>) {
    this.pool = pool;
  }

  /** A new response topic; the first call subscribes (checked by the runtime's ACL). */
  next(
    userContext?: UC,
  ): MaybePromise<{ ok: true; topic: string } | { ok: false; reason: string }> {
    if (this.base !== undefined) return { ok: true, topic: `${this.base}/${++this.counter}` };
    const base = `reply/call-${createClientId()}`;
    const options =
      userContext === undefined ? { retained: false } : { retained: false, userContext };
    return after(
      this.pool.serverSubscribe(`${base}/+`, (message) => this.arrived(message), options),
      (outcome) => {
        if (!outcome.ok) return { ok: false as const, reason: outcome.message };
        if (this.base === undefined) {
          this.base = base;
          this.subscription = outcome.subscription;
        } else {
          outcome.subscription.unsubscribe(); // another call won the race
        }
        return { ok: true as const, topic: `${this.base}/${++this.counter}` };
      },
    );
  }

  /** Resolves with the first message on `topic`, or rejects after `timeoutMs`. */
  wait(topic: string, timeoutMs: number): Promise<DeliveredMessage> {
    const ready = this.unclaimed.get(topic);
    if (ready !== undefined) {
      this.unclaimed.delete(topic);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = this.pool.timers.setTimeout(() => {
        this.waiters.delete(topic);
        reject(new Error(`no response on ${topic} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(topic, { resolve, reject, timer });
    });
  }

  /** Stops listening; pending waits are rejected. */
  close(): void {
    this.subscription?.unsubscribe();
    for (const [topic, waiter] of this.waiters) {
      this.pool.timers.clearTimeout(waiter.timer);
      waiter.reject(new Error(`the pool closed before a response on ${topic}`));
    }
    this.waiters.clear();
    this.unclaimed.clear();
  }

  private arrived(message: DeliveredMessage): void {
    const waiter = this.waiters.get(message.topic);
    if (waiter !== undefined) {
      this.waiters.delete(message.topic);
      this.pool.timers.clearTimeout(waiter.timer);
      waiter.resolve(message);
      return;
    }
    if (this.unclaimed.size >= MAX_UNCLAIMED) {
      const oldest = this.unclaimed.keys().next().value as string;
      this.unclaimed.delete(oldest);
    }
    this.unclaimed.set(message.topic, message);
  }
}
