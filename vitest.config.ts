import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS build (graphql 16 has no "exports"), and so do the Apollo
    // packages; Vite would pick the ESM build for our files. Two graphql realms break instanceof checks
    // ("Cannot use GraphQLObjectType from another module or realm"), so tests use the build Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
    // The kit's package exports point at its TypeScript source under the `source` condition (what tsx and
    // tsc use in this repo, see docs/architecture.md) and at its compiled dist/ otherwise.
  },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    // In CI a JSON report as well, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-results.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
