/**
 * RequestSet against the emulator over real HTTP with the official SDK: the first up submits every request; an edit
 * submits only the edited and added requests and drops the removed ones' results; no change submits nothing; a
 * machine without the local files recovers the results from Mistral's files (and reruns only what Mistral no longer
 * keeps); failed requests are sent again alone with `retryFailed`; an interrupted update that runs again adopts
 * the job it submitted instead of sending its requests twice.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_MODELS } from "mistral-batch-emulator";
import { afterEach, describe, expect, it } from "vitest";
import { parseAddress } from "../../provider/requestSet/address";
import {
  admin,
  captureReports,
  chatRequests,
  cleanup,
  configure,
  emulator,
  jsonlOf,
  sdk,
  setProvider,
  stats,
  tempDir,
  thrown,
  type Json,
} from "./integration-harness";

afterEach(cleanup);

const FLAKY = {
  id: "flaky-chat",
  endpoints: ["/v1/chat/completions" as const],
  accuracy: 1,
  failureRate: 0.3,
  failureAttempts: 1,
};

async function setup(options: { models?: typeof DEFAULT_MODELS } = {}) {
  const e = await emulator(options.models ? { models: options.models } : {});
  await configure(e.url);
  const dir = tempDir();
  const source = path.join(dir, "requests.jsonl");
  const write = (requests: { customId: string; body: unknown }[]) => fs.writeFileSync(source, jsonlOf(requests));
  const news = (extra: Json = {}): Json => ({
    source,
    model: "mistral-small-latest",
    directory: path.join(dir, "results"),
    waitForCompletion: { pollIntervalSeconds: 0.02 },
    scope: "proj/dev/answers",
    __provider: "SERIALIZED-PROVIDER",
    ...extra,
  });
  const p = setProvider();
  const check = async (olds: Json, extra: Json = {}) => {
    const checked = await p.check(olds, news(extra));
    if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
    return { ...checked.inputs, scope: "proj/dev/answers", __provider: "SERIALIZED-PROVIDER" } as Json;
  };
  /** Every job the emulator holds, with its request count, oldest first. */
  const jobs = async () => {
    const list = await sdk(e.url).batch.jobs.list({ pageSize: 100 });
    return (list.data ?? []).map((j) => ({ id: j.id, total: j.totalRequests })).reverse();
  };
  return { e, dir, source, write, news, p, check, jobs };
}

const lines = (file: string) =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);

describe("RequestSet", () => {
  it("submits every request once, then only what an edit changed, and nothing when nothing changed", async () => {
    const s = await setup();
    const requests = chatRequests(6);
    s.write(requests);
    const created = await s.p.create(await s.check({}));
    const first = created.outs as Json;
    expect(first).toMatchObject({
      status: "SUCCESS",
      totalRequests: 6,
      succeededRequests: 6,
      submittedRequests: 6,
      reusedRequests: 0,
    });
    expect((await s.jobs()).map((j) => j.total)).toEqual([6]);
    // The current results carry the dataset's custom_ids; the uploaded ones carried the key.
    const out = lines(path.join(s.dir, "results", "output.jsonl"));
    expect(out.map((l) => l.custom_id).sort()).toEqual(requests.map((r) => r.customId).sort());

    // Edit r1's body, remove r5, add r6: two requests to send, four reused, two earlier results removed.
    const edited = requests
      .slice(0, 5)
      .map((r) =>
        r.customId === "r1" ? { ...r, body: { messages: [{ role: "user", content: "What is 10 + 1?" }] } } : r,
      );
    s.write([...edited, { customId: "r6", body: { messages: [{ role: "user", content: "What is 6 + 1?" }] } }]);
    const inputs = await s.check(first);
    const capture = captureReports();
    const diff = await s.p.diff(created.id, first, inputs);
    capture.restore();
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    expect(capture.lines.join("\n")).toMatch(/\+2 new, 4 reused, 2 removed/);
    const second = (await s.p.update(created.id, first, inputs)).outs as Json;
    expect(second).toMatchObject({
      totalRequests: 6,
      succeededRequests: 6,
      submittedRequests: 2,
      reusedRequests: 4,
      removedRequests: 2,
    });
    expect((await s.jobs()).map((j) => j.total)).toEqual([6, 2]);
    const now = lines(second.outputPath);
    expect(now.map((l) => l.custom_id).sort()).toEqual(["r0", "r1", "r2", "r3", "r4", "r6"]);

    // Unchanged: no change at preview, and an update submits nothing.
    const same = await s.check(second);
    expect((await s.p.diff(created.id, second, same)).changes).toBe(false);
    const third = (await s.p.update(created.id, second, same)).outs as Json;
    expect(third.submittedRequests).toBe(0);
    expect((await s.jobs()).length).toBe(2);
  });

  it("an empty source is refused unless allowEmpty, which makes it a set of no requests: no job, SUCCESS", async () => {
    const s = await setup();
    fs.writeFileSync(s.source, "");
    const refused = await s.p.check({}, s.news());
    expect(refused.failures?.map((f) => f.property)).toEqual(["source"]);
    expect(refused.failures?.[0]?.reason).toContain("holds no requests");
    expect((await s.p.check({}, s.news({ allowEmpty: "yes" }))).failures).toContainEqual({
      property: "allowEmpty",
      reason: 'allowEmpty is "yes"; expected true or false',
    });
    const created = await s.p.create(await s.check({}, { allowEmpty: true }));
    const empty = created.outs as Json;
    expect(empty).toMatchObject({
      status: "SUCCESS",
      totalRequests: 0,
      submittedRequests: 0,
      pendingRequests: 0,
      jobIds: [],
      outputPath: null,
    });
    expect(await s.jobs()).toEqual([]);
    // Requests come: they are submitted; gone again: their results are dropped, nothing is submitted.
    s.write(chatRequests(3));
    const filled = (await s.p.update(created.id, empty, await s.check(empty, { allowEmpty: true }))).outs as Json;
    expect(filled).toMatchObject({ status: "SUCCESS", totalRequests: 3, submittedRequests: 3 });
    fs.writeFileSync(s.source, "");
    const again = await s.check(filled, { allowEmpty: true });
    expect((await s.p.diff(created.id, filled, again)).changes).toBe(true);
    const emptied = (await s.p.update(created.id, filled, again)).outs as Json;
    expect(emptied).toMatchObject({ status: "SUCCESS", totalRequests: 0, submittedRequests: 0, removedRequests: 3 });
    expect((await s.jobs()).map((j) => j.total)).toEqual([3]);
  });

  it("destroy deletes its uploads, and its result files only with deleteResultFilesOnDestroy; an old set's default updates nothing", async () => {
    const s = await setup();
    s.write(chatRequests(3));
    const files = async () => {
      const list = await sdk(s.e.url).files.list({ pageSize: 100 });
      return (list.data ?? []).map((f) => ({ id: f.id, purpose: f.purpose, source: f.source }));
    };
    // Without the option: the upload goes, the job's output file stays.
    const kept = (await s.p.create(await s.check({}))).outs as Json;
    expect(kept.deleteResultFilesOnDestroy).toBe(false);
    const keptOutput = kept.parts[0].outputFileId as string;
    await s.p.delete(kept.parts[0].jobId, kept);
    expect((await files()).map((f) => f.id)).toEqual([keptOutput]);
    // A set stored before the option existed shows no change for its default.
    const { deleteResultFilesOnDestroy: _, ...older } = kept;
    expect((await s.p.diff("set", older, await s.check(older))).changes).toBe(false);
    // So does one stored before onModelChange (its default "keep"), and the set records what its model resolved to.
    expect(kept.onModelChange).toBe("keep");
    expect(kept.resolvedModel).toBe("mistral-small-2506");
    const { onModelChange: _o, resolvedModel: _r, ...beforeResolution } = kept;
    expect((await s.p.diff("set", beforeResolution, await s.check(beforeResolution))).changes).toBe(false);
    const badPolicy = await s.p.check({}, s.news({ onModelChange: "rerun", directory: path.join(s.dir, "r3") }));
    expect(badPolicy.failures).toEqual([
      { property: "onModelChange", reason: 'onModelChange is "rerun"; allowed: "keep" (the default) or "replace"' },
    ]);

    // With it: the output file goes too; a bad value is refused by check, naming it.
    const checked = await s.p.check(
      {},
      s.news({ deleteResultFilesOnDestroy: "yes", directory: path.join(s.dir, "r2") }),
    );
    expect(checked.failures).toEqual([
      { property: "deleteResultFilesOnDestroy", reason: 'deleteResultFilesOnDestroy is "yes"; expected true or false' },
    ]);
    const cleaned = (
      await s.p.create(await s.check({}, { deleteResultFilesOnDestroy: true, directory: path.join(s.dir, "r2") }))
    ).outs as Json;
    const cleanedOutput = cleaned.parts[0].outputFileId as string;
    expect((await files()).map((f) => f.id)).toContain(cleanedOutput);
    await s.p.delete(cleaned.parts[0].jobId, cleaned);
    expect((await files()).map((f) => f.id)).toEqual([keptOutput]);
    // The local results stay.
    expect(lines(path.join(s.dir, "r2", "output.jsonl"))).toHaveLength(3);
  });

  it("reads its files once while they are unchanged, and never answers from what an edit made stale", async () => {
    const s = await setup();
    s.write(chatRequests(5));
    // Older than the racy margin: the source's index is kept (memo.ts).
    await new Promise((r) => setTimeout(r, 150));
    const created = await s.p.create(await s.check({}));
    const first = created.outs as Json;
    const results = path.join(s.dir, "results");
    const output = path.join(results, "output.jsonl");
    expect(fs.existsSync(path.join(results, "index", "source.json"))).toBe(true);
    expect(fs.existsSync(path.join(results, "parts", `${first.parts[0].jobId}.summary.json`))).toBe(true);

    // No change: the merged results are not written again (same inode and change time).
    const stamp = () => {
      const st = fs.statSync(output, { bigint: true });
      return [st.ino, st.ctimeNs];
    };
    const before = stamp();
    const same = await s.check(first);
    const second = (await s.p.update(created.id, first, same)).outs as Json;
    expect(second).toMatchObject({ submittedRequests: 0, succeededRequests: 5 });
    expect(stamp()).toEqual(before);

    // The merged results edited by hand: written again in full.
    fs.writeFileSync(output, "");
    const third = (await s.p.update(created.id, second, await s.check(second))).outs as Json;
    expect(third.succeededRequests).toBe(5);
    expect(lines(output)).toHaveLength(5);

    // The source edited in place, same size, modification time put back: r2's body changed, so r2 runs again.
    const { mtime } = fs.statSync(s.source);
    const text = fs.readFileSync(s.source, "utf8");
    fs.writeFileSync(s.source, text.replace("What is 2 + 1?", "What is 2 + 7?"));
    expect(fs.statSync(s.source).size).toBe(Buffer.byteLength(text));
    fs.utimesSync(s.source, mtime, mtime);
    const edited = await s.check(third);
    const capture = captureReports();
    expect((await s.p.diff(created.id, third, edited)).changes).toBe(true);
    capture.restore();
    expect(capture.lines.join("\n")).toMatch(/\+1 new, 4 reused, 1 removed/);
    const fourth = (await s.p.update(created.id, third, edited)).outs as Json;
    expect(fourth).toMatchObject({ submittedRequests: 1, reusedRequests: 4, succeededRequests: 5 });
    expect((await s.jobs()).map((j) => j.total)).toEqual([5, 1]);
  });

  it("on a machine without the local files, recovers the results from Mistral's files and submits nothing", async () => {
    const s = await setup();
    s.write(chatRequests(5));
    const created = await s.p.create(await s.check({}));
    const outs = created.outs as Json;
    fs.rmSync(path.join(s.dir, "results"), { recursive: true, force: true });
    const inputs = await s.check(outs);
    const diff = await s.p.diff(created.id, outs, inputs);
    expect(diff.changes).toBe(true); // the current results are to be written again
    const again = (await s.p.update(created.id, outs, inputs)).outs as Json;
    expect(again).toMatchObject({ submittedRequests: 0, succeededRequests: 5, reusedRequests: 5 });
    expect(lines(again.outputPath)).toHaveLength(5);
    expect((await s.jobs()).length).toBe(1);
  });

  it("reruns only the requests whose result file Mistral no longer keeps", async () => {
    const s = await setup();
    s.write(chatRequests(4));
    const created = await s.p.create(await s.check({}));
    const outs = created.outs as Json;
    fs.rmSync(path.join(s.dir, "results"), { recursive: true, force: true });
    await sdk(s.e.url).files.delete({ fileId: outs.parts[0].outputFileId });
    const capture = captureReports();
    const again = (await s.p.update(created.id, outs, await s.check(outs))).outs as Json;
    capture.restore();
    expect(capture.lines.join("\n")).toMatch(/no longer kept by Mistral \(404\)/);
    expect(again).toMatchObject({ submittedRequests: 4, succeededRequests: 4 });
    expect((await s.jobs()).map((j) => j.total)).toEqual([4, 4]);
  });

  it("keeps failed requests failed, and with retryFailed sends only those again", async () => {
    const s = await setup({ models: [...DEFAULT_MODELS, FLAKY] });
    s.write(chatRequests(20));
    const created = await s.p.create(await s.check({}, { model: "flaky-chat" }));
    const first = created.outs as Json;
    const failed = first.failedRequests as number;
    expect(failed).toBeGreaterThan(0);
    expect(first.succeededRequests + failed).toBe(20);
    const errors = lines(first.errorPath);
    expect(errors).toHaveLength(failed);
    expect(errors.every((l) => parseAddress(String(l.custom_id)) === undefined)).toBe(true);

    const same = await s.check(first, { model: "flaky-chat" });
    const kept = (await s.p.update(created.id, first, same)).outs as Json;
    expect(kept).toMatchObject({ submittedRequests: 0, failedRequests: failed });

    const retry = await s.check(kept, { model: "flaky-chat", retryFailed: true });
    const retried = (await s.p.update(created.id, kept, retry)).outs as Json;
    expect(retried).toMatchObject({
      submittedRequests: failed,
      retriedRequests: failed,
      succeededRequests: 20,
      failedRequests: 0,
    });
    expect((await s.jobs()).map((j) => j.total)).toEqual([20, failed]);
    expect(lines(retried.outputPath)).toHaveLength(20);
    expect(retried.errorPath).toBeNull();
  });

  it("an update interrupted after submitting, then run with an edited source, counts that job: nothing is sent twice", async () => {
    const s = await setup();
    const requests = chatRequests(7);
    s.write(requests.slice(0, 4));
    const created = await s.p.create(await s.check({}));
    const first = created.outs as Json;

    // r4 and r5 added; the update submits them, and the engine never records it (interrupted).
    s.write(requests.slice(0, 6));
    await s.p.update(created.id, first, await s.check(first));
    // Another set's job input in the same directory (the set this one replaces): never adopted.
    const otherSource = path.join(s.dir, "other.jsonl");
    fs.writeFileSync(otherSource, jsonlOf(chatRequests(1, "x")));
    const otherArgs = s.news({ source: otherSource, directory: path.join(s.dir, "other"), scope: "proj/dev/other" });
    const otherChecked = (await s.p.check({}, otherArgs)).inputs as Json;
    const foreign = (await s.p.create({ ...otherChecked, scope: "proj/dev/other" })).outs as Json;
    const foreignJob = foreign.parts[0].jobId as string;
    fs.copyFileSync(
      path.join(s.dir, "other", "parts", `${foreignJob}.input.jsonl`),
      path.join(s.dir, "results", "parts", `${foreignJob}.input.jsonl`),
    );

    // r6 added too: the next update, from the state as recorded, finds the unrecorded job and sends r6 alone.
    s.write(requests);
    const inputs = await s.check(first);
    const capture = captureReports();
    const diff = await s.p.diff(created.id, first, inputs);
    const again = (await s.p.update(created.id, first, inputs)).outs as Json;
    capture.restore();
    expect(diff.changes).toBe(true);
    const text = capture.lines.join("\n");
    expect(text).toMatch(
      /found job \S+ \(2 request\(s\), SUCCESS\), submitted by an interrupted update and not in the stack's state/,
    );
    expect(text).toMatch(/\+1 new, 6 reused, 0 removed/);
    expect(text).not.toContain(foreignJob);
    expect(again).toMatchObject({ submittedRequests: 1, reusedRequests: 6, succeededRequests: 7 });
    expect(again.parts.map((p: Json) => p.requests)).toEqual([4, 2, 1]);
    expect((await s.jobs()).map((j) => j.total)).toEqual([4, 2, 1, 1]); // the other set's job second to last
    expect(
      lines(again.outputPath)
        .map((l) => l.custom_id)
        .sort(),
    ).toEqual(requests.map((r) => r.customId).sort());
  });

  it("an update run again after an interruption adopts the job it submitted: no request is sent twice", async () => {
    const s = await setup();
    s.write(chatRequests(3));
    const inputs = await s.check({});
    const created = await s.p.create(inputs);
    // The engine never recorded it (interrupted): the next up creates again with the same inputs.
    fs.rmSync(path.join(s.dir, "results"), { recursive: true, force: true });
    const capture = captureReports();
    const again = await s.p.create(inputs);
    capture.restore();
    expect(capture.lines.join("\n")).toMatch(/adopted the job submitted earlier/);
    expect((again.outs as Json).parts[0].jobId).toBe((created.outs as Json).parts[0].jobId);
    expect((await s.jobs()).length).toBe(1);
  });
});

describe("RequestSet under the workspace's pending-request limit", () => {
  /** Two sets of 3 requests each (scopes a and b) on an emulator whose workspace allows 4 pending requests. */
  async function twoSets() {
    const e = await emulator({ clock: "manual", speed: "demo", maxPendingRequests: 4 });
    await configure(e.url);
    const dir = tempDir();
    const p = setProvider();
    const args = (name: string, waitForCompletion: Json | boolean): Json => {
      const source = path.join(dir, `${name}.jsonl`);
      fs.writeFileSync(source, jsonlOf(chatRequests(3, name)));
      return {
        source,
        model: "mistral-small-latest",
        directory: path.join(dir, name),
        waitForCompletion,
        scope: `proj/dev/${name}`,
        __provider: "SERIALIZED-PROVIDER",
      };
    };
    const create = async (news: Json) => {
      const checked = await p.check({}, news);
      if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
      return p.create({ ...checked.inputs, scope: news.scope, __provider: news.__provider });
    };
    const first = (await create(args("a", false))).outs as Json; // 3 pending
    expect(first).toMatchObject({ status: "QUEUED", pendingRequests: 3, submittedRequests: 3 });
    /** Advances the emulator's clock an hour at a time until `done()`. */
    const advanceUntil = async (done: () => boolean | Promise<boolean>) => {
      while (!(await done())) {
        await admin(e.url, "POST", "/__emulator/clock/advance", { ms: 3_600_000 });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    return { e, p, args, create, advanceUntil };
  }

  it("a set that does not wait fails at once with the numbers; the next up submits it, on the same upload", async () => {
    const s = await twoSets();
    const start = Date.now();
    const error = await thrown(() => s.create(s.args("b", false)));
    expect(Date.now() - start).toBeLessThan(3_000);
    expect(error.message).toContain("3 requests pending, 3 in this job, limit 4");
    expect(error.message).toMatch(/Wait for running jobs to finish/);
    expect(await stats(s.e.url)).toMatchObject({ jobs: 1, files: 2 }); // a's upload and b's, no job of b

    // The first set's job finishes: room; b's next create submits on its earlier upload.
    await s.advanceUntil(async () => (await stats(s.e.url)).jobsByStatus.SUCCESS === 1);
    const second = (await s.create(s.args("b", false))).outs as Json;
    expect(second).toMatchObject({ submittedRequests: 3 });
    // a's upload and its result file, and b's one upload: not uploaded again.
    expect(await stats(s.e.url)).toMatchObject({ jobs: 2, files: 3 });
  });

  it("a set that waits for completion waits for room, says so, and submits once the earlier job finishes", async () => {
    const s = await twoSets();
    const reports = captureReports();
    try {
      let settled = false;
      const second = s.create(s.args("b", { pollIntervalSeconds: 0.05, timeoutMinutes: 1 })).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 400)); // several refusals
      expect((await stats(s.e.url)).jobs).toBe(1);
      expect(reports.lines.join("\n")).toContain(
        'RequestSet "b": waiting to submit: the workspace has too many pending batch requests (3 requests pending, 3 in this job, limit 4)',
      );
      await s.advanceUntil(() => settled);
      const outs = (await second).outs as Json;
      expect(outs).toMatchObject({ status: "SUCCESS", submittedRequests: 3, succeededRequests: 3 });
      expect((await stats(s.e.url)).jobs).toBe(2);
    } finally {
      reports.restore();
    }
  });
});
