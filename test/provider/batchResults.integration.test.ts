/**
 * BatchResults against the emulator, with result files seeded as Mistral writes them (inline failures in the output
 * file, lines without custom_id, a file that is gone): line counts that differ from the job's counters are reported
 * and recorded, not fatal; every final status downloads what there is; an expired file fails with what to do, or
 * with `onExpired: "warn"` is recorded and skipped. Independent of the emulator's "observed" profile.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { joinResults } from "../../provider/eval/join";
import {
  admin,
  captureReports,
  cleanup,
  configure,
  emulator,
  resultsProvider,
  sdk,
  tempDir,
  thrown,
  type Json,
} from "./integration-harness";
import { chatResult } from "../support/resultLines";

afterEach(cleanup);

const CHAT = "/v1/chat/completions" as const;
const ok = (id: string, content: string) => JSON.stringify(chatResult(id, content, 5, 2));
/** The failure line of Mistral's Python SDK fixture; without an id, a line that names no request. */
const rateLimited = (id?: string) =>
  JSON.stringify({
    ...(id === undefined ? {} : { custom_id: id }),
    response: { status_code: 429, body: null },
    error: "rate limited",
  });
/** Output file: two successes, an inline failure, a failure without custom_id. Error file: one failure. */
const OUTPUT = `${[ok("a", "A"), rateLimited("b"), ok("c", "C"), rateLimited()].join("\n")}\n`;
const ERRORS = `${JSON.stringify({ custom_id: "d", response: { status_code: 500, body: { message: "boom" } }, error: { message: "Internal error" } })}\n`;

async function seedFile(url: string, content: string, filename = "results.jsonl"): Promise<string> {
  const id = randomUUID();
  await admin(url, "POST", "/__emulator/seed", { file: { id, filename, purpose: "batch", content } });
  return id;
}

async function setup() {
  const e = await emulator();
  await configure(e.url);
  const outputFileId = await seedFile(e.url, OUTPUT, "out.jsonl");
  const errorFileId = await seedFile(e.url, ERRORS, "err.jsonl");
  const dir = tempDir();
  const inputs = (extra: Json = {}): Json => ({
    jobId: "job-1",
    status: "SUCCESS",
    outputFileId,
    errorFileId,
    succeededRequests: 2,
    failedRequests: 2,
    directory: path.join(dir, "results"),
    ...extra,
  });
  return { e, dir, outputFileId, errorFileId, inputs };
}

async function checked(news: Json): Promise<Json> {
  const c = await resultsProvider().check({}, news);
  if (c.failures?.length) throw new Error(`check failed: ${JSON.stringify(c.failures)}`);
  return c.inputs as Json;
}

describe("BatchResults: files as Mistral writes them", () => {
  it("a line count that differs from the job's counters is a warning and an output, not a failure", async () => {
    const { inputs } = await setup();
    const reports = captureReports();
    try {
      // The job counts 2 succeeded, 2 failed; the output file holds 4 lines (inline failures), the error file 1.
      const { outs } = await resultsProvider().create(await checked(inputs()));
      expect(outs).toMatchObject({
        downloaded: true,
        outputLines: 4,
        errorLines: 1,
        countsMatch: false,
        expiredFileIds: [],
      });
      expect(outs.countMismatch).toBe(
        "BatchResults of job job-1: the output file has 4 line(s), the job reports 2 succeeded request(s); the error file has 1 line(s), the job reports 2 failed request(s). The files hold more lines than the job counts: failures inline in the output file, or counters read before they settled. The results are kept as they are; refresh the job (`pulumi refresh`) to compare with its latest counters",
      );
      expect(reports.lines).toContain(`warning: ${outs.countMismatch}`);
      expect(fs.readFileSync(path.resolve(outs.outputPath), "utf8")).toBe(OUTPUT);
    } finally {
      reports.restore();
    }
  });

  it("counts that add up across the files say so; matching counts record countsMatch true and report nothing", async () => {
    const { inputs } = await setup();
    const reports = captureReports();
    try {
      const moved = await resultsProvider().create(await checked(inputs({ succeededRequests: 2, failedRequests: 3 })));
      expect(moved.outs.countsMatch).toBe(false);
      expect(moved.outs.countMismatch).toContain(
        "Both files hold 5 line(s) in all, as many as the job's succeeded + failed requests",
      );
      reports.lines.length = 0;
      const same = await resultsProvider().create(await checked(inputs({ succeededRequests: 4, failedRequests: 1 })));
      expect(same.outs).toMatchObject({ countsMatch: true, countMismatch: null });
      const none = await resultsProvider().create(
        await checked(inputs({ succeededRequests: undefined, failedRequests: undefined })),
      );
      expect(none.outs).toMatchObject({ countsMatch: null, countMismatch: null });
      expect(reports.lines.filter((l) => l.startsWith("warning:"))).toEqual([]);
    } finally {
      reports.restore();
    }
  });

  it("the join reads the downloaded files: inline failures, the merge of both files, the line without custom_id", async () => {
    const { inputs, dir } = await setup();
    const { outs } = await resultsProvider().create(await checked(inputs()));
    const dataset = path.join(dir, "d.jsonl");
    fs.writeFileSync(
      dataset,
      ["a", "b", "c", "d", "e"]
        .map((id) => JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content: id }] } }))
        .join("\n"),
    );
    const joined = await joinResults({
      dataset,
      endpoint: CHAT,
      models: [{ model: "m", outputFile: path.resolve(outs.outputPath), errorFile: path.resolve(outs.errorPath) }],
      outFile: path.join(dir, "rows.jsonl"),
      workDir: path.join(dir, "w"),
    });
    expect(joined.summaries[0]).toMatchObject({ succeeded: 2, failed: 3, missing: 1, unattributed: 1, unreadable: 0 });
    expect(
      joined.warnings.some(
        (w) => w.includes("1 result line(s) name no custom_id") && w.includes("line 4: HTTP 429: rate limited"),
      ),
    ).toBe(true);
  });

  it("CANCELLED, TIMEOUT_EXCEEDED and FAILED jobs yield their partial results; a job not yet final downloads nothing", async () => {
    const { inputs } = await setup();
    for (const status of ["CANCELLED", "TIMEOUT_EXCEEDED", "FAILED"]) {
      const { outs } = await resultsProvider().create(
        await checked(inputs({ status, jobId: `job-${status}`, succeededRequests: 4, failedRequests: 1 })),
      );
      expect(outs, status).toMatchObject({ downloaded: true, outputLines: 4, errorLines: 1, countsMatch: true });
      expect(outs.outputPath, status).toMatch(new RegExp(`job-${status}\\.output\\.jsonl$`));
    }
    for (const status of ["RUNNING", "CANCELLATION_REQUESTED", "QUEUED"]) {
      const { outs } = await resultsProvider().create(await checked(inputs({ status })));
      expect(outs, status).toMatchObject({ downloaded: false, outputPath: null, countsMatch: null });
    }
  });
});

describe("BatchResults: result files that are gone", () => {
  it("by default fails with what happened and what to do", async () => {
    const { inputs } = await setup();
    const gone = randomUUID();
    const error = await thrown(async () => resultsProvider().create(await checked(inputs({ outputFileId: gone }))));
    expect(error.message).toBe(
      `BatchResults of job job-1: the output file ${gone} is no longer kept by Mistral (404; result files are kept about 24 hours after the job ends), so these results are gone. To run the requests again, replace the job: \`pulumi up --replace <URN of the BatchJob>\` (a job that ended FAILED, TIMEOUT_EXCEEDED or CANCELLED is resubmitted by its resubmitOn); this replaces these results too. To accept the loss and carry on with what is left, set onExpired: "warn" on this BatchResults`,
    );
  });

  it('onExpired: "warn" reports it, records the file, keeps what is left; the next up does not try again', async () => {
    const { e, inputs, outputFileId } = await setup();
    const p = resultsProvider();
    const first = await p.create(await checked(inputs({ succeededRequests: 4, failedRequests: 1 })));
    expect(first.outs.countsMatch).toBe(true);
    // Retention passes: the output file goes; the local copy goes too (a new machine, a cleaned directory).
    await sdk(e.url).files.delete({ fileId: outputFileId });
    fs.rmSync(path.resolve(first.outs.outputPath));
    const news = await checked(inputs({ succeededRequests: 4, failedRequests: 1, onExpired: "warn" }));
    expect((await p.diff("job-1", first.outs, news)).changes).toBe(true);
    const reports = captureReports();
    try {
      const { outs } = await p.update("job-1", first.outs, news);
      expect(outs).toMatchObject({
        downloaded: true,
        outputPath: null,
        outputLines: 0,
        errorLines: 1,
        expiredFileIds: [outputFileId],
        countsMatch: true, // only the error file was there to compare
      });
      expect(outs.errorPath).toMatch(/job-1\.error\.jsonl$/);
      expect(reports.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^warning: BatchResults of job job-1: the output file ${outputFileId} is no longer kept by Mistral .*onExpired: "warn"`,
          ),
        ),
      );
      expect((await p.diff("job-1", outs, news)).changes).toBe(false);
    } finally {
      reports.restore();
    }
  });

  it("check rejects another onExpired; state written before these outputs reads with them filled in", async () => {
    const { inputs } = await setup();
    const c = await resultsProvider().check({}, inputs({ onExpired: "ignore" }));
    expect(c.failures).toEqual([{ property: "onExpired", reason: 'onExpired is "ignore"; expected "fail" or "warn"' }]);
    const { outs } = await resultsProvider().create(await checked(inputs()));
    const { countsMatch: _a, countMismatch: _b, expiredFileIds: _c, ...older } = outs;
    const read = await resultsProvider().read("job-1", older);
    expect(read.props).toMatchObject({ countsMatch: null, countMismatch: null, expiredFileIds: [], downloaded: true });
  });
});
