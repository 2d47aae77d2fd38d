import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import LongestFirstSequencer from "./test/support/sequencer.mts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // In-process tests run the sources: the emulator package and the provider's contract, which it imports as
  // `pulumi-mistral-batch/api`, resolve to their TypeScript (one module instance each; no build needed). The
  // end-to-end tests load the built packages natively, as the engine does.
  resolve: {
    alias: {
      "mistral-batch-emulator": here("./packages/emulator/src/index.ts"),
      "pulumi-mistral-batch/api": here("./provider/api/index.ts"),
    },
  },
  test: {
    // Two projects, one per emulator profile (test/support/profile.ts): every test plays the spec; the provider's
    // integration suites and the engine's adoption and inline-evaluation files also play the service as observed
    // (inline errors, lines without custom_id, a list that ignores filters and caps pages, slow cancels).
    // `npm test` runs those two (scripts/test.cjs names them); `npm run test:unit` runs the third, `unit`: the pure
    // modules' tests alone (no HTTP server, no child process, no engine), for the inner loop.
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/provider/**/*.test.ts", "test/architecture.test.ts"],
          exclude: ["test/**/*.integration.test.ts"],
          env: { MISTRAL_EMULATOR_PROFILE: "spec" },
        },
      },
      {
        extends: true,
        test: {
          name: "spec",
          include: ["test/**/*.test.ts", "provider/**/*.test.ts", "packages/*/src/**/*.test.ts"],
          env: { MISTRAL_EMULATOR_PROFILE: "spec" },
        },
      },
      {
        extends: true,
        test: {
          name: "observed",
          include: [
            "test/provider/**/*.integration.test.ts",
            "test/e2e/adopt.e2e.test.ts",
            "test/e2e/evaluation-inline.e2e.test.ts",
          ],
          // Suites that choose their profiles themselves, or that no profile changes (the serialized code).
          exclude: [
            "test/provider/observed.integration.test.ts",
            "test/provider/models.integration.test.ts",
            "test/provider/serialization.integration.test.ts",
          ],
          env: { MISTRAL_EMULATOR_PROFILE: "observed" },
        },
      },
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The files a worker runs share its process and its modules (each suite still starts its own emulators and
    // engine processes): the sources, the emulator and the SDK are loaded once a worker, not once a file (measured
    // in a clean clone: import time 94 s -> 40 s over 82 files). The tests put back what they change of process.env.
    isolate: false,
    // vitest's default is one worker fewer than the cores: one on a 2-core machine. An end-to-end file alternates
    // between CPU (the engine's processes: CLI, language host, program, provider) and waiting (a job's queue time, a
    // wait's timeout, a retry's Retry-After), so three files at once keep both cores busy where two left them idle
    // about 15% of the time (measured in a clean clone: vitest 580 s with two, 460 s with three and shared processes).
    maxWorkers: Math.max(3, availableParallelism() - 1),
    // Longest file first across both projects (test/support/sequencer.mts), even with no vitest cache.
    sequence: { sequencer: LongestFirstSequencer },
  },
});
