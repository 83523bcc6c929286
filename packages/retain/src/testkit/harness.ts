import type { MaybePromise, MessageProperties } from '@mqtt-sessions/protocol';
import { afterEach, beforeEach } from 'vitest';
import type { RetainedMessage, RetainInput, RetainStore } from '../contract.js';
import { FakeClock } from './fake-clock.js';

/** What the kit hands a store factory. */
export interface RetainStoreFactoryContext {
  /** The clock the store must use for `storedAt` and expiry. */
  readonly clock: FakeClock;
}

/** Makes a fresh, empty store for one test. */
export type RetainStoreFactory = (context: RetainStoreFactoryContext) => MaybePromise<RetainStore>;

/** Options of `describeRetainStore`. */
export interface DescribeRetainStoreOptions {
  /** Timeout in ms of the slow cases (paging through 10,000 messages); default 120,000. */
  slowTimeout?: number;
}

/** The store and clock of the running test, replaced before each test. */
export class KitContext {
  private current: RetainStore | undefined = undefined;
  private currentClock: FakeClock | undefined = undefined;
  /** True once the test itself closed the store. */
  closed = false;

  get store(): RetainStore {
    if (this.current === undefined) throw new Error('the retain store kit has no store yet');
    return this.current;
  }

  get clock(): FakeClock {
    if (this.currentClock === undefined) throw new Error('the retain store kit has no clock yet');
    return this.currentClock;
  }

  /** Opens a fresh store for a test. */
  async open(factory: RetainStoreFactory): Promise<void> {
    this.currentClock = new FakeClock();
    this.current = await factory({ clock: this.currentClock });
    this.closed = false;
  }

  /** Clears (unless the test closed it) and closes the test's store. */
  async dispose(): Promise<void> {
    const store = this.current;
    this.current = undefined;
    if (store === undefined) return;
    if (!this.closed) await store.clear();
    await store.close();
  }
}

/** Registers the hooks that give each test a fresh store, and returns the live context. */
export function useRetainStore(factory: RetainStoreFactory): KitContext {
  const context = new KitContext();
  beforeEach(() => context.open(factory));
  afterEach(() => context.dispose());
  return context;
}

/** A message to retain, with a string or binary payload. */
export function retained(
  topic: string,
  payload: string | Buffer = 'x',
  qos: 0 | 1 | 2 = 0,
  properties?: MessageProperties,
): RetainInput {
  const input: RetainInput = {
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos,
  };
  if (properties !== undefined) input.properties = properties;
  return input;
}

/** Sets many messages, a bounded number at a time so remote stores can pipeline them. */
export async function setAll(store: RetainStore, inputs: readonly RetainInput[]): Promise<void> {
  const batch = 500;
  for (let start = 0; start < inputs.length; start += batch) {
    const pending: MaybePromise<void>[] = [];
    const end = Math.min(start + batch, inputs.length);
    for (let i = start; i < end; i++) pending.push(store.set(inputs[i] as RetainInput));
    await Promise.all(pending);
  }
}

/** Every page of a match, followed to the end. */
export interface CollectedMatch {
  readonly messages: RetainedMessage[];
  /** The number of messages on each page, in order. */
  readonly pageSizes: number[];
}

/** Follows a match's cursors to the last page. Fails after `maxPages` to stop a runaway cursor. */
export async function matchAll(
  store: RetainStore,
  filter: string,
  limit?: number,
  maxPages = 100_000,
): Promise<CollectedMatch> {
  const messages: RetainedMessage[] = [];
  const pageSizes: number[] = [];
  let page = await store.match(filter, limit === undefined ? {} : { limit });
  for (;;) {
    pageSizes.push(page.messages.length);
    for (const message of page.messages) messages.push(message);
    if (page.cursor === null) break;
    if (pageSizes.length >= maxPages)
      throw new Error(`match of ${filter} ran past ${maxPages} pages`);
    const options = limit === undefined ? { cursor: page.cursor } : { cursor: page.cursor, limit };
    page = await store.match(filter, options);
  }
  return { messages, pageSizes };
}

/** The topics of some messages, sorted, for order-free comparison. */
export function topicsOf(messages: readonly RetainedMessage[]): string[] {
  return messages.map((message) => message.topic).sort();
}

/** The sorted topics a filter matches, all pages included. */
export async function matchedTopics(store: RetainStore, filter: string): Promise<string[]> {
  return topicsOf((await matchAll(store, filter)).messages);
}

/** A small deterministic pseudo-random generator (mulberry32), so failures replay. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
