import { describe } from 'vitest';
import { describeAccounting } from './accounting.js';
import { describeBasics } from './basics.js';
import { describeExpiry } from './expiry.js';
import { describeFilters } from './filters.js';
import {
  type DescribeRetainStoreOptions,
  type RetainStoreFactory,
  useRetainStore,
} from './harness.js';
import { describePaging } from './paging.js';
import { describePayloads } from './payloads.js';

export { FAKE_CLOCK_START, FakeClock } from './fake-clock.js';
export type {
  DescribeRetainStoreOptions,
  RetainStoreFactory,
  RetainStoreFactoryContext,
} from './harness.js';

const DEFAULT_SLOW_TIMEOUT = 120_000;

/**
 * Registers vitest suites that check a `RetainStore` implementation against the whole
 * contract: set/get/delete, the empty-payload delete, `+`/`#` and the `$` rule, expiry on a fake
 * clock, paging through 10,000 messages, binary payloads, properties, count/bytes/clear and close.
 * Call it at the top level of a test file; `vitest` must be installed (an optional peer).
 *
 * @param name A name for the implementation, shown in the suite names.
 * @param factory Makes a fresh, empty store for each test; it must use the given clock. The kit
 *   clears and closes the store after the test.
 * @param options `slowTimeout`: the timeout in ms of the 10,000-message cases (default 120,000).
 */
export function describeRetainStore(
  name: string,
  factory: RetainStoreFactory,
  options: DescribeRetainStoreOptions = {},
): void {
  const slowTimeout = options.slowTimeout ?? DEFAULT_SLOW_TIMEOUT;
  describe(`RetainStore contract: ${name}`, () => {
    const context = useRetainStore(factory);
    describe('set, get and delete', () => describeBasics(context));
    describe('topic filters', () => describeFilters(context));
    describe('message expiry', () => describeExpiry(context));
    describe('payloads and properties', () => describePayloads(context));
    describe('paging', () => describePaging(context, slowTimeout));
    describe('count, bytes, clear and close', () => describeAccounting(context));
  });
}
