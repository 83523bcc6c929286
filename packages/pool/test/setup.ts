/**
 * Every pool test fails when a pool reported an internal error that the test did not expect: an
 * error a session catches and reports (a bug, a runtime that throws) must never pass unseen.
 * A test that expects errors takes them with `takeErrors()`.
 */
import { afterEach, expect } from 'vitest';
import { takeErrors } from './helpers.js';

afterEach(() => {
  const unexpected = takeErrors();
  expect(unexpected, 'internal errors reported by a pool during the test').toEqual([]);
});
