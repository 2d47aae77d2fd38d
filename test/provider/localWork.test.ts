/**
 * ProviderContext.localWork: the sets of one provider process take turns for their local file work, at most
 * LOCAL_WORK_SLOTS at once, first come first served, and a turn ends whether its work succeeds or fails.
 */
import { describe, expect, it } from "vitest";
import { LOCAL_WORK_SLOTS, ProviderContext } from "../../provider/context";

describe("ProviderContext.localWork", () => {
  it("runs at most LOCAL_WORK_SLOTS works at once, in the order they came, and frees a turn on failure", async () => {
    const ctx = ProviderContext.fromConfig(undefined, {});
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const work = (i: number) =>
      ctx.localWork(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        if (i === 1) throw new Error(`work ${i} failed`);
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(work));
    expect(most).toBe(LOCAL_WORK_SLOTS);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      0,
      "work 1 failed",
      2,
      3,
      4,
      5,
    ]);
    // Every turn came back: as many works run at once again.
    running = 0;
    most = 0;
    await Promise.all([6, 7].map(work));
    expect(most).toBe(2);
  });
});
