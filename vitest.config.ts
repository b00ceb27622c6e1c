import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Simulations are CPU-bound and single-threaded; two cores on CI.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
