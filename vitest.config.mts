import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "provider/**/*.test.ts", "emulator/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default is one worker fewer than the cores: one on a 2-core machine. The end-to-end files spend most
    // of their time waiting on the engine's processes (CLI, language host, program, provider), so two files at
    // once nearly halve the suite there (measured: e2e files 545 s one at a time, about 290 s two at a time).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
