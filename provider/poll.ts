/**
 * When a wait polls a job, as pure functions of the time waited: the provider's waits (BatchJob `up`, the
 * cancel-wait of destroy) sleep `nextPollDelayMs`; the tests and bench/poll.ts replay the schedule with
 * `simulatePolls` and `latenessOver`, without a clock.
 *
 * The schedule: the first poll `firstMs` after the wait starts (1 s by default), then intervals of a quarter of the
 * time waited (never under `minIntervalMs`, 5 s by default); beyond an hour the interval grows only with the fourth
 * root of the time waited (15 min at 1 h, 21 min at 4 h, 33 min at 24 h), so long jobs are noticed relatively sooner
 * (within 9% of their duration at 4 h, 2.3% at 24 h). With the defaults a 1 h job takes 29 polls and a 24 h job 81;
 * a job is noticed at most 5 s or a quarter of its duration late. Intervals never shrink as the wait goes on.
 */

/** How a wait polls: the delay before the first poll and the shortest interval after it. */
export interface PollSchedule {
  /** Milliseconds from the start of the wait to the first poll. */
  firstMs: number;
  /** The shortest interval between two polls after the first, in milliseconds. */
  minIntervalMs: number;
}

/** `pollIntervalSeconds` when a wait policy does not set it: the first poll comes a second into the wait. */
export const DEFAULT_POLL_INTERVAL_SECONDS = 1;
/** The shortest interval after the first poll, as a multiple of the first delay (5 s with the default 1 s). */
export const MIN_INTERVAL_FACTOR = 5;
/** The interval as a share of the time waited, up to `POLL_KNEE_MS`: a job is noticed at most this share late. */
export const POLL_SHARE = 0.25;
/** Beyond this much waiting (an hour) the interval grows with a power of the time waited: `POLL_LATE_EXPONENT`. */
export const POLL_KNEE_MS = 3_600_000;
/** Beyond `POLL_KNEE_MS`, the interval is `POLL_SHARE x POLL_KNEE_MS x (waited / POLL_KNEE_MS) ^ POLL_LATE_EXPONENT`. */
export const POLL_LATE_EXPONENT = 0.25;

/** The poll budgets the default schedule keeps: at most `polls` polls for a job that runs `jobMs`. */
export const POLL_BUDGETS: readonly { readonly jobMs: number; readonly polls: number }[] = Object.freeze([
  Object.freeze({ jobMs: 3_600_000, polls: 30 }),
  Object.freeze({ jobMs: 86_400_000, polls: 200 }),
]);

/**
 * The schedule of a wait policy's `pollIntervalSeconds`: the first poll that long into the wait, later intervals at
 * least `MIN_INTERVAL_FACTOR` times as long. Throws on a value that is not a positive finite number.
 */
export function pollSchedule(pollIntervalSeconds: number = DEFAULT_POLL_INTERVAL_SECONDS): PollSchedule {
  if (!(typeof pollIntervalSeconds === "number" && pollIntervalSeconds > 0 && Number.isFinite(pollIntervalSeconds))) {
    throw new RangeError(
      `pollIntervalSeconds is ${String(pollIntervalSeconds)}; expected a number of seconds > 0 (e.g. ${DEFAULT_POLL_INTERVAL_SECONDS})`,
    );
  }
  const firstMs = pollIntervalSeconds * 1000;
  return { firstMs, minIntervalMs: firstMs * MIN_INTERVAL_FACTOR };
}

/** The schedule of the defaults: the first poll after 1 s, then intervals of at least 5 s. */
export const DEFAULT_POLL_SCHEDULE: PollSchedule = Object.freeze(pollSchedule(DEFAULT_POLL_INTERVAL_SECONDS));

/**
 * How long to sleep before the next poll, given the milliseconds waited so far (0 before the first poll). Before
 * `firstMs` it is the time left until `firstMs`; then `max(minIntervalMs, POLL_SHARE x waited)` up to
 * `POLL_KNEE_MS`, and `max(minIntervalMs, POLL_SHARE x POLL_KNEE_MS x (waited / POLL_KNEE_MS) ^ POLL_LATE_EXPONENT)`
 * beyond (continuous at the knee, never decreasing). A negative or NaN time (a clock that went back) counts as 0.
 */
export function nextPollDelayMs(elapsedMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE): number {
  const t = Number.isNaN(elapsedMs) ? 0 : Math.max(elapsedMs, 0);
  if (t < schedule.firstMs) return schedule.firstMs - t;
  const grown =
    t <= POLL_KNEE_MS ? POLL_SHARE * t : POLL_SHARE * POLL_KNEE_MS * (t / POLL_KNEE_MS) ** POLL_LATE_EXPONENT;
  return Math.max(schedule.minIntervalMs, grown);
}

/**
 * The instants of the polls, in milliseconds from the start of the wait, up to and including the first one at or
 * after `untilMs` (or at `timeoutMs`, where a wait gives up). `delay(elapsedMs, poll)` is the sleep before poll
 * number `poll` (0 first), e.g. `nextPollDelayMs`; it must be positive. Polls are taken as instantaneous.
 */
export function pollTimesMs(
  untilMs: number,
  delay: (elapsedMs: number, poll: number) => number = (t) => nextPollDelayMs(t),
  timeoutMs: number = Number.POSITIVE_INFINITY,
): number[] {
  const times: number[] = [];
  let t = 0;
  while (t < untilMs && t < timeoutMs) {
    const d = delay(t, times.length);
    if (!(d > 0)) {
      throw new RangeError(`poll delay at ${t} ms (poll ${times.length}) is ${d}; a schedule must wait > 0 ms`);
    }
    t = Math.min(t + d, timeoutMs);
    times.push(t);
  }
  return times;
}

/** What a wait on a job of a given duration does: `simulatePolls`. */
export interface SimulatedWait {
  /** Polls made, the last one included. */
  polls: number;
  /** When the last poll happened, ms into the wait: the job seen final then, unless `timedOut`. */
  noticedAtMs: number;
  /** `noticedAtMs - jobDurationMs` when the job was seen final, else 0. */
  latenessMs: number;
  /** The wait gave up at `timeoutMs` before the job was final. */
  timedOut: boolean;
}

/**
 * Replays a wait on a job that turns final `jobDurationMs` after the wait starts, as the provider's wait does: sleep
 * `nextPollDelayMs` (cut at the timeout), poll, until a poll sees the job final or the timeout passes.
 */
export function simulatePolls(
  jobDurationMs: number,
  schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
  timeoutMs: number = Number.POSITIVE_INFINITY,
): SimulatedWait {
  if (jobDurationMs <= 0) return { polls: 0, noticedAtMs: 0, latenessMs: 0, timedOut: false };
  const times = pollTimesMs(jobDurationMs, (t) => nextPollDelayMs(t, schedule), timeoutMs);
  const last = times[times.length - 1] ?? 0;
  const seen = last >= jobDurationMs;
  return {
    polls: times.length,
    noticedAtMs: last,
    latenessMs: seen ? last - jobDurationMs : 0,
    timedOut: !seen,
  };
}

/** How late jobs are noticed, over durations spread evenly over a range: `latenessOver`. */
export interface Lateness {
  /** The most a job is noticed late, ms (approached by a job that ends just after a poll). */
  worstMs: number;
  /** The mean, ms. */
  meanMs: number;
  /** The most, as a share of the job's duration. */
  worstShare: number;
  /** The mean share of the job's duration. */
  meanShare: number;
}

/**
 * Exact lateness of a poll schedule for jobs whose durations spread evenly over `(fromMs, toMs]`, from the poll
 * instants `times` (pollTimesMs, reaching `toMs`): a job ending in `(p, q]` between two polls is noticed at `q`.
 */
export function latenessOver(fromMs: number, toMs: number, times: readonly number[]): Lateness {
  if (!(fromMs > 0 && toMs > fromMs)) {
    throw new RangeError(`durations (${fromMs}, ${toMs}] ms; expected 0 < fromMs < toMs`);
  }
  const last = times[times.length - 1] ?? 0;
  if (last < toMs) throw new RangeError(`the polls end at ${last} ms, before ${toMs} ms; pass pollTimesMs(${toMs})`);
  let worstMs = 0;
  let worstShare = 0;
  let sumMs = 0;
  let sumShare = 0;
  let p = 0;
  for (const q of times) {
    const lo = Math.max(p, fromMs);
    const hi = Math.min(q, toMs);
    p = q;
    if (hi <= lo) continue;
    worstMs = Math.max(worstMs, q - lo);
    worstShare = Math.max(worstShare, (q - lo) / lo);
    sumMs += q * (hi - lo) - (hi * hi - lo * lo) / 2; // integral of (q - T) dT over (lo, hi]
    sumShare += q * Math.log(hi / lo) - (hi - lo); // integral of (q - T) / T dT
  }
  const span = toMs - fromMs;
  return { worstMs, meanMs: sumMs / span, worstShare, meanShare: sumShare / span };
}

/** A duration for messages and tables: `800 ms`, `45 s`, `12 min`, `24 h 10 min`, `7 d`, `7 d 3 h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(ms / 60_000);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return h % 24 ? `${Math.floor(h / 24)} d ${h % 24} h` : `${h / 24} d`;
}
