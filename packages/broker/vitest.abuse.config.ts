import { packageProject } from '../../tooling/vitest.shared.ts';

/**
 * The abuse suite (test/abuse.test.ts) in a project of its own: it drives real broker processes
 * hard and times them, so it runs after every other project (groupOrder 1), not beside the other
 * heavy broker tests, whose load would show up in its timings.
 */
export default packageProject('broker-abuse', {
  include: ['test/abuse.test.ts'],
  sequence: { groupOrder: 1 },
});
