import { configDefaults } from 'vitest/config';
import { packageProject } from '../../tooling/vitest.shared.ts';

// The abuse suite runs in a project of its own, after the others: vitest.abuse.config.ts.
export default packageProject('broker', {
  exclude: [...configDefaults.exclude, 'test/abuse.test.ts'],
});
