import { packageProject } from '../../tooling/vitest.shared.ts';

export default packageProject('pool', { setupFiles: ['test/setup.ts'] });
