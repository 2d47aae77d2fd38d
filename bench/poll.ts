/**
 * Poll-schedule benchmark: how many polls a wait makes and how late it notices a finished job, for jobs of 10 s to
 * 7 days, with the schedule of provider/poll.ts (the default: first poll after 1 s, then intervals of at least 5 s
 * and a quarter of the time waited, growing only with the fourth root beyond an hour) against the previous one (the
 * first poll after 5 s, each interval half again as long, at most a minute). No engine, no emulator, no clock: the
 * figures come from the pure functions (simulatePolls, pollTimesMs, latenessOver).
 *
 *   npm run bench:poll
 *
 * Per duration D: the polls of a job that takes exactly D (ours, the previous schedule, the ratio), the budget of
 * the issue where there is one (1 h: 30, 24 h: 200), how late the job of exactly D is seen, and the worst and mean
 * lateness over jobs lasting D/2 to D (absolute, and as a share of the job's duration). Exit code 1 if a budget is
 * exceeded or a job is noticed later than the schedule promises (5 s or a quarter of its duration).
 */
import { printTable, runMain } from "./common";
import { recordSummary, type SummaryRow } from "./summary";
import {
  DEFAULT_POLL_SCHEDULE,
  POLL_BUDGETS,
  formatDuration,
  latenessOver,
  nextPollDelayMs,
  pollTimesMs,
  simulatePolls,
} from "../provider/poll";

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const DURATIONS = [10 * S, MIN, 10 * MIN, H, 4 * H, 24 * H, 168 * H];

/** The schedule before poll.ts: 5 s, then half again each poll, at most a minute (the old `pollDelayMs`). */
const previous = (_elapsedMs: number, poll: number): number => Math.min(60_000, 5000 * 1.5 ** poll);
const ours = (elapsedMs: number): number => nextPollDelayMs(elapsedMs, DEFAULT_POLL_SCHEDULE);

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

async function main(): Promise<number> {
  const problems: string[] = [];
  const table: string[][] = [
    [
      "job",
      "polls",
      "previous",
      "ratio",
      "budget",
      "late",
      "worst late",
      "mean late",
      "worst %",
      "mean %",
      "previous worst",
    ],
  ];
  const summary: SummaryRow[] = [];
  for (const d of DURATIONS) {
    const wait = simulatePolls(d);
    const times = pollTimesMs(d, ours);
    const old = pollTimesMs(d, previous);
    const late = latenessOver(d / 2, d, times);
    const oldLate = latenessOver(d / 2, d, old);
    const budget = POLL_BUDGETS.find((b) => b.jobMs === d)?.polls;
    if (wait.polls !== times.length || wait.timedOut) problems.push(`${formatDuration(d)}: the replays disagree`);
    if (budget !== undefined && wait.polls > budget)
      problems.push(`${formatDuration(d)}: ${wait.polls} polls, over the budget of ${budget}`);
    if (wait.latenessMs > Math.max(DEFAULT_POLL_SCHEDULE.minIntervalMs, 0.25 * d) + 1e-6)
      problems.push(`${formatDuration(d)}: noticed ${formatDuration(wait.latenessMs)} late, over max(5 s, 25%)`);
    if (budget !== undefined)
      summary.push({
        bench: "poll",
        what: `polls while waiting for a ${formatDuration(d)} job (worst lateness ${pct(late.worstShare)})`,
        ours: `${wait.polls} polls`,
        reference: `previous schedule ${old.length} polls`,
        ratio: (wait.polls / old.length).toFixed(2) + "x",
        goal: `<= ${budget} polls`,
        verdict: wait.polls <= budget ? "met" : "MISSED",
      });
    table.push([
      formatDuration(d),
      String(wait.polls),
      String(old.length),
      (wait.polls / old.length).toFixed(2),
      budget === undefined ? "-" : String(budget),
      formatDuration(wait.latenessMs),
      formatDuration(late.worstMs),
      formatDuration(late.meanMs),
      pct(late.worstShare),
      pct(late.meanShare),
      formatDuration(oldLate.worstMs),
    ]);
  }
  console.log("Polls and lateness of a wait (computed, not timed); late = noticed after the job ended;");
  console.log("worst/mean over jobs lasting D/2 to D; previous = 5 s growing by half to a 60 s cap.");
  printTable(table);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB`);
  recordSummary(summary.map((r) => ({ ...r, peakMb: process.resourceUsage().maxRSS / 1024 })));
  for (const p of problems) console.error(`WRONG: ${p}`);
  return problems.length ? 1 : 0;
}

runMain(main);
