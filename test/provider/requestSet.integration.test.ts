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
  captureReports,
  chatRequests,
  cleanup,
  configure,
  emulator,
  jsonlOf,
  sdk,
  setProvider,
  tempDir,
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
