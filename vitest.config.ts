import { defineConfig } from 'vitest/config'

// Workspace packages export `strongroom-source` → src/index.ts next to `default` → dist/index.js, so
// tests run against the TypeScript sources without a build. Vitest 4 runs node tests in Vite's `ssr`
// environment, so `ssr.resolve.conditions` is the one that counts (without it the import fails: there is
// no dist/); `resolve.conditions` covers the client environment. Vitest adds its defaults (`node`,
// `development|production`) and also passes the list to the forked workers as `--conditions`.
const sourceCondition = 'strongroom-source'

export default defineConfig({
  resolve: { conditions: [sourceCondition] },
  ssr: { resolve: { conditions: [sourceCondition] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results/results.json' },
  },
})
