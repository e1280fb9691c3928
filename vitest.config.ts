import { defineConfig } from 'vitest/config';

// Unit tests live beside the code (src/**/*.test.ts); end-to-end tests with real browsers and
// servers under test/e2e. Files run one at a time: the e2e files start Chromium and mediasoup,
// and the CI machine has 2 cores.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
