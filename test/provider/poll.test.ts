/**
 * The poll schedule of waits (provider/poll.ts) as pure functions: the first poll, the growth of the intervals, the
 * poll budgets of the issue (a 1 h job at most 30 polls, 24 h at most 200), how late a finished job is noticed, and
 * the replay the bench uses. No clock: every figure comes from the functions.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { waitPolicy } from "../../provider/jobLogic";
import {
  DEFAULT_POLL_INTERVAL_SECONDS,
  DEFAULT_POLL_SCHEDULE,
  MIN_INTERVAL_FACTOR,
  POLL_BUDGETS,
  POLL_KNEE_MS,
  POLL_SHARE,
  formatDuration,
  latenessOver,
  nextPollDelayMs,
  pollSchedule,
  pollTimesMs,
  simulatePolls,
} from "../../provider/poll";

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

describe("pollSchedule", () => {
  it("the first poll after pollIntervalSeconds, later intervals at least 5 times that", () => {
    expect(DEFAULT_POLL_INTERVAL_SECONDS).toBe(1);
    expect(MIN_INTERVAL_FACTOR).toBe(5);
    expect(pollSchedule()).toEqual({ firstMs: 1000, minIntervalMs: 5000 });
    expect(DEFAULT_POLL_SCHEDULE).toEqual({ firstMs: 1000, minIntervalMs: 5000 });
    expect(pollSchedule(0.02)).toEqual({ firstMs: 20, minIntervalMs: 100 });
    expect(pollSchedule(2)).toEqual({ firstMs: 2000, minIntervalMs: 10_000 });
  });

  it("the default wait policy polls on the default schedule", () => {
    expect(pollSchedule(waitPolicy(true)?.pollIntervalSeconds)).toEqual(DEFAULT_POLL_SCHEDULE);
  });

  it("refuses a value that is not a positive finite number, saying what is allowed", () => {
    for (const v of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => pollSchedule(v)).toThrow(`pollIntervalSeconds is ${v}; expected a number of seconds > 0`);
    }
  });
});

describe("nextPollDelayMs", () => {
  it("the first poll lands firstMs into the wait", () => {
    expect(nextPollDelayMs(0)).toBe(1000);
    expect(nextPollDelayMs(400)).toBe(600);
    expect(nextPollDelayMs(0, pollSchedule(0.02))).toBe(20);
    // a clock that went back, or no time at all
    expect(nextPollDelayMs(-5000)).toBe(1000);
    expect(nextPollDelayMs(Number.NaN)).toBe(1000);
  });

  it("then the larger of the floor and a quarter of the time waited, up to an hour", () => {
    expect(POLL_SHARE).toBe(0.25);
    expect(POLL_KNEE_MS).toBe(H);
    expect(nextPollDelayMs(1000)).toBe(5000);
    expect(nextPollDelayMs(20 * S)).toBe(5000);
    expect(nextPollDelayMs(40 * S)).toBe(10 * S);
    expect(nextPollDelayMs(10 * MIN)).toBe(150 * S);
    expect(nextPollDelayMs(H)).toBe(15 * MIN);
    expect(nextPollDelayMs(1000, pollSchedule(0.02))).toBe(250);
    expect(nextPollDelayMs(100, pollSchedule(0.02))).toBe(100);
  });

  it("beyond an hour, with the fourth root of the time waited: 15 min at 1 h, 30 min at 16 h, 60 min at 256 h", () => {
    expect(nextPollDelayMs(16 * H)).toBeCloseTo(30 * MIN, 6);
    expect(nextPollDelayMs(256 * H)).toBeCloseTo(60 * MIN, 6);
    expect(nextPollDelayMs(24 * H) / MIN).toBeCloseTo(15 * 24 ** 0.25, 6); // about 33 min
    // continuous at the knee
    expect(nextPollDelayMs(H + 1) - nextPollDelayMs(H)).toBeLessThan(1);
  });

  it("intervals never shrink and polls always move forward (any schedule, any times)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 120, noNaN: true }),
        fc.double({ min: 0, max: 400 * H, noNaN: true }),
        fc.double({ min: 0, max: 400 * H, noNaN: true }),
        (seconds, a, b) => {
          const schedule = pollSchedule(seconds);
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(nextPollDelayMs(lo, schedule)).toBeGreaterThan(0);
          if (lo >= schedule.firstMs) {
            expect(nextPollDelayMs(hi, schedule)).toBeGreaterThanOrEqual(nextPollDelayMs(lo, schedule));
            expect(nextPollDelayMs(lo, schedule)).toBeGreaterThanOrEqual(schedule.minIntervalMs);
          }
          // Before the first poll both land on `firstMs`, up to the rounding of `firstMs - t` (a femtosecond).
          expect(hi + nextPollDelayMs(hi, schedule)).toBeGreaterThanOrEqual(lo + nextPollDelayMs(lo, schedule) - 1e-9);
        },
      ),
    );
  });
});

describe("simulatePolls: the budgets and the lateness of the default schedule", () => {
  it("polls for 1 min, 10 min, 1 h, 24 h and 7 days", () => {
    const polls = [MIN, 10 * MIN, H, 24 * H, 168 * H].map((d) => simulatePolls(d).polls);
    expect(polls).toEqual([10, 21, 29, 81, 273]);
  });

  it("keeps the issue's budgets: a 1 h job at most 30 polls, a 24 h job at most 200", () => {
    expect(POLL_BUDGETS.map((b) => [b.jobMs, b.polls])).toEqual([
      [H, 30],
      [24 * H, 200],
    ]);
    for (const b of POLL_BUDGETS) {
      // any job up to the budget's duration, not only the one of exactly that duration
      expect(pollTimesMs(b.jobMs).length).toBeLessThanOrEqual(b.polls);
      expect(simulatePolls(b.jobMs).polls).toBeLessThanOrEqual(b.polls);
    }
  });

  it("a finished job is noticed at most 5 s or a quarter of its duration late; past an hour, less", () => {
    fc.assert(
      fc.property(fc.double({ min: 1001, max: 168 * H, noNaN: true }), (d) => {
        const w = simulatePolls(d);
        expect(w.timedOut).toBe(false);
        expect(w.noticedAtMs).toBeGreaterThanOrEqual(d);
        expect(w.latenessMs).toBeCloseTo(w.noticedAtMs - d, 6);
        expect(w.latenessMs).toBeLessThanOrEqual(Math.max(5000, 0.25 * d) + 1e-6);
        if (d > H) expect(w.latenessMs).toBeLessThanOrEqual(0.25 * d * (H / d) ** 0.75 + 1e-6);
      }),
    );
    // a job shorter than the first delay is seen at the first poll
    expect(simulatePolls(300)).toEqual({ polls: 1, noticedAtMs: 1000, latenessMs: 700, timedOut: false });
    // already final when the wait starts: no poll
    expect(simulatePolls(0)).toEqual({ polls: 0, noticedAtMs: 0, latenessMs: 0, timedOut: false });
  });

  it("a small pollIntervalSeconds (tests, e2e) polls quickly from the start", () => {
    const fast = pollSchedule(0.02);
    expect(pollTimesMs(500, (t) => nextPollDelayMs(t, fast))).toEqual([20, 120, 220, 320, 420, 525]);
    expect(simulatePolls(500, fast).latenessMs).toBeCloseTo(25, 6);
  });

  it("gives up at the timeout, polling once at the deadline as the provider's wait does", () => {
    const timeout = 70 * MIN;
    const late = simulatePolls(2 * H, DEFAULT_POLL_SCHEDULE, timeout);
    expect(late).toMatchObject({ noticedAtMs: timeout, latenessMs: 0, timedOut: true });
    expect(late.polls).toBe(pollTimesMs(timeout).filter((t) => t < timeout).length + 1);
    // a job that ends by the deadline is seen at the deadline at the latest
    expect(simulatePolls(timeout, DEFAULT_POLL_SCHEDULE, timeout)).toMatchObject({ timedOut: false });
    expect(simulatePolls(H, DEFAULT_POLL_SCHEDULE, timeout).noticedAtMs).toBeLessThanOrEqual(timeout);
  });
});

describe("pollTimesMs and latenessOver", () => {
  it("replay any delay function, e.g. the old one (5 s growing by half to a minute)", () => {
    const old = (_t: number, poll: number) => Math.min(60_000, 5000 * 1.5 ** poll);
    const times = pollTimesMs(H, old);
    expect(times.slice(0, 3)).toEqual([5000, 12_500, 23_750]);
    expect(times.length).toBe(65);
    expect(() => pollTimesMs(10, () => 0)).toThrow("poll delay at 0 ms (poll 0) is 0; a schedule must wait > 0 ms");
  });

  it("computes lateness exactly: polls every 10 ms, jobs ending in (10, 20] ms", () => {
    const l = latenessOver(10, 20, [10, 20]);
    expect(l.worstMs).toBe(10);
    expect(l.meanMs).toBeCloseTo(5, 9);
    expect(l.worstShare).toBe(1);
    expect(l.meanShare).toBeCloseTo(2 * Math.log(2) - 1, 9);
  });

  it("agrees with sampled job durations for the default schedule (jobs of 30 to 60 min)", () => {
    const times = pollTimesMs(H);
    const exact = latenessOver(30 * MIN, H, times);
    let sum = 0;
    let worst = 0;
    const n = 20_000;
    for (let i = 1; i <= n; i++) {
      const d = 30 * MIN + (30 * MIN * i) / n;
      const late = simulatePolls(d).latenessMs;
      sum += late / d;
      worst = Math.max(worst, late / d);
    }
    expect(exact.meanShare).toBeCloseTo(sum / n, 3);
    expect(worst).toBeLessThanOrEqual(exact.worstShare);
    expect(exact.worstShare - worst).toBeLessThan(0.001);
    expect(exact.worstShare).toBeLessThanOrEqual(POLL_SHARE + 1e-12);
  });

  it("refuses an empty range or polls that stop short", () => {
    expect(() => latenessOver(0, 10, [10])).toThrow("expected 0 < fromMs < toMs");
    expect(() => latenessOver(5, 5, [10])).toThrow("expected 0 < fromMs < toMs");
    expect(() => latenessOver(5, 30, [10, 20])).toThrow("the polls end at 20 ms, before 30 ms");
  });
});

describe("formatDuration", () => {
  it("renders the unit that reads best", () => {
    const durations = [300, 45 * S, 12 * MIN, H, 24 * H + 10 * MIN, 24 * H, 168 * H + 10 * MIN, 171 * H];
    expect(durations.map(formatDuration)).toEqual([
      "300 ms",
      "45 s",
      "12 min",
      "60 min",
      "24 h 10 min",
      "24 h",
      "7 d",
      "7 d 3 h",
    ]);
  });
});
