import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Interop and integration tests spawn real processes and bind loopback ports;
    // two cores cannot run many of those at once without timing noise.
    maxWorkers: 2,
  },
});
