import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * Tests import sibling packages through the `@mqtt-sessions/source` export condition, which points
 * at `src/` — so `pnpm test` needs no build step and always runs the code in the working tree.
 */
// The rest are Vite's default server conditions, which setting `conditions` would otherwise drop.
const conditions = ['@mqtt-sessions/source', 'module', 'node', 'development|production'];

/** The vitest project every package uses: its tests live beside the code in `src/` or in `test/`. */
export function packageProject(name: string, overrides: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      ...overrides,
    },
  });
}
