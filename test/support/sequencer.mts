import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

// Seconds each slow file took in a full `npm test` (per-file durations, dist/vitest-results.json, 3 workers).
// Only the order matters: a file missing here counts as fast. Keyed by path: a file in both projects (spec and
// observed) takes about as long in each.
const SLOW_FILES: Readonly<Record<string, number>> = {
  "test/e2e/evaluation.e2e.test.ts": 190,
  "test/e2e/scale.e2e.test.ts": 150,
  "test/e2e/badinput.e2e.test.ts": 111,
  "test/e2e/examples.e2e.test.ts": 100,
  "test/e2e/package.e2e.test.ts": 95,
  "test/e2e/lifecycle.e2e.test.ts": 95,
  "test/e2e/interrupt.e2e.test.ts": 91,
  "test/e2e/wait.e2e.test.ts": 90,
  "test/e2e/shards.e2e.test.ts": 73,
  "test/e2e/judge.e2e.test.ts": 45,
  "test/e2e/incremental.e2e.test.ts": 37,
  "test/e2e/adopt.e2e.test.ts": 36,
  "test/e2e/evaluation-inline.e2e.test.ts": 25,
  "test/provider/faults.integration.test.ts": 27,
  "test/provider/serialization.integration.test.ts": 20,
  "test/provider/observed.integration.test.ts": 18,
  "test/e2e/batchrun.e2e.test.ts": 14,
  "test/e2e/report.browser.test.ts": 10,
};

/**
 * Longest file first, across projects, so that no long end-to-end file starts last while the other worker idles
 * (the suite's wall time is the busier worker's). vitest's own order runs one project's files after the other's
 * (the observed project's e2e files came last) and, without a cache (a clean clone, CI), the larger files first,
 * which is not the slower ones. A duration from vitest's cache (the last run here) wins over the list above; a
 * file that failed last time still runs first, as vitest does, to report it early.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cache = this.ctx.cache;
    const weight = (spec: TestSpecification) => {
      const file = relative(root, spec.moduleId).split("\\").join("/");
      const last = cache.getFileTestResults(`${spec.project.name}:${file}`);
      const hinted = (SLOW_FILES[file] ?? 0) * 1000;
      return { failed: last?.failed === true, ms: last?.duration ?? hinted };
    };
    const weights = new Map(files.map((spec) => [spec, weight(spec)]));
    return [...files].sort((a, b) => {
      const groupOrder = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (groupOrder !== 0) return groupOrder;
      const wa = weights.get(a);
      const wb = weights.get(b);
      if (wa === undefined || wb === undefined) return 0;
      if (wa.failed !== wb.failed) return wa.failed ? -1 : 1;
      return wb.ms - wa.ms;
    });
  }
}
