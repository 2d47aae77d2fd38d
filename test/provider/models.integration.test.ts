/**
 * BatchJob's model check against the emulator's models API, through the official SDK: a typo or a model without the
 * endpoint's capability fails `check` naming `model`, the value and the nearest models (nothing submitted); ids and
 * aliases pass; the list is read once per provider context (kept while `configure` repeats the same configuration);
 * a models API that cannot be read (401, 404, no key, an
 * unreachable server) only warns; agent jobs and unchanged models are not checked.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MODEL_CACHE_ENV, modelCacheFile, writeModelCache } from "../../provider/modelCache";
import {
  MODEL,
  TEST_KEY,
  addFaults,
  captureReports,
  cleanup,
  configure,
  admin,
  emulator,
  jobArgs,
  jobProvider,
  newRuntime,
  stats,
  tempDir,
  type Json,
} from "./integration-harness";

afterEach(cleanup);
afterEach(() => {
  process.env[MODEL_CACHE_ENV] = "off"; // as integration-harness.ts sets it
});

/** Counts the emulator's GET /v1/models answers by wrapping the global fetch the SDK uses. */
function countModelLists(): { count: () => number; restore: () => void } {
  const original = globalThis.fetch;
  let n = 0;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (new URL(url).pathname === "/v1/models") n++;
    return original(input, init);
  }) as typeof fetch;
  const restore = () => {
    globalThis.fetch = original;
  };
  return { count: () => n, restore };
}

const check = (news: Json, olds: Json = {}) => jobProvider().check(olds, news);

describe("BatchJob check: the model, against the models API", () => {
  it("a typo fails naming model, the value and the nearest chat models; nothing is submitted", async () => {
    const e = await emulator();
    await configure(e.url);
    const r = await check(jobArgs({ model: "mistral-smal-latest" }));
    expect(r.failures).toEqual([
      {
        property: "model",
        reason: expect.stringMatching(
          /^model is "mistral-smal-latest", which is not a model of this workspace \(GET \/v1\/models, ids and aliases\); allowed: a model that serves \/v1\/chat\/completions, nearest: mistral-small-latest, /,
        ),
      },
    ]);
    expect((await stats(e.url)).jobs).toBe(0);
  });

  it("a model that does not serve the endpoint fails naming models that do", async () => {
    const e = await emulator();
    await configure(e.url);
    const r = await check(jobArgs({ model: "mistral-embed" }));
    expect(r.failures?.[0]?.reason).toMatch(
      /^model is "mistral-embed", which does not serve \/v1\/chat\/completions \(the models API does not give it the completion_chat capability\)/,
    );
    const fim = await check(
      jobArgs({
        model: "mistral-small-latest",
        endpoint: "/v1/fim/completions",
        requests: undefined,
        inputFiles: ["00000000-0000-4000-8000-000000000000"],
      }),
    );
    expect(fim.failures?.[0]?.reason).toMatch(/e\.g\. codestral-/);
  });

  it("ids and aliases pass; the list is read once per provider context, for every job", async () => {
    const e = await emulator();
    await configure(e.url);
    const lists = countModelLists();
    try {
      for (const model of [MODEL, "mistral-small-2506", "mistral-large-latest"]) {
        expect((await check(jobArgs({ model }))).failures, model).toEqual([]);
      }
      expect(lists.count()).toBe(1);
      // The host configures each serialized provider (one per kind): the same configuration keeps the context,
      // and so the list; another configuration is another context, which reads it again.
      await configure(e.url);
      expect((await check(jobArgs({ model: "mistral-small-2506" }))).failures).toEqual([]);
      expect(lists.count()).toBe(1);
      await configure(e.url, "sk-test-key-0002");
      expect((await check(jobArgs({ model: "mistral-small-2506" }))).failures).toEqual([]);
      expect(lists.count()).toBe(2);
    } finally {
      lists.restore();
    }
  });

  it("a models API that cannot be read only warns, saying why: 401, 404, no key, an unreachable server", async () => {
    const reports = captureReports();
    try {
      const e = await emulator({ apiKey: "sk-other" });
      await configure(e.url);
      expect((await check(jobArgs({ model: "mistral-smal-latest" }))).failures).toEqual([]);
      const e404 = await emulator();
      await addFaults(e404.url, "404*inf@GET /v1/models");
      await configure(e404.url);
      expect((await check(jobArgs({ model: "anything" }))).failures).toEqual([]);
      await configure(e404.url, "");
      expect((await check(jobArgs({ model: "anything" }))).failures).toEqual([]);
      await configure("http://127.0.0.1:9");
      expect((await check(jobArgs({ model: "anything" }))).failures).toEqual([]);
    } finally {
      reports.restore();
    }
    expect(reports.lines).toEqual([
      expect.stringMatching(
        /^warning: BatchJob "answers": model "mistral-smal-latest" could not be checked: GET \/v1\/models answered HTTP 401: the API key was refused$/,
      ),
      expect.stringMatching(/could not be checked: GET \/v1\/models answered HTTP 404: the server has no models API$/),
      expect.stringMatching(/could not be checked: no usable settings \(.*key/i),
      expect.stringMatching(/could not be checked: GET \/v1\/models failed: /),
    ]);
  });

  it("not checked: an agent job, an unknown model at preview, a model unchanged from the job's old inputs", async () => {
    const e = await emulator();
    await configure(e.url);
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect((await check(jobArgs({ model: unknown }))).failures).toEqual([]);
    const old = jobArgs({ model: "retired-model", endpoint: "/v1/chat/completions" });
    expect((await check(jobArgs({ model: "retired-model" }), old)).failures).toEqual([]);
    expect((await check(jobArgs({ model: "retired-model" }))).failures).toHaveLength(1);
    const agent = await check(jobArgs({ model: undefined, agentId: "ag_123" }));
    expect(agent.failures).toEqual([]);
  });
});

describe("the copy of the models list on disk (modelCache.ts)", () => {
  it("the next provider process checks from the copy: no models request, no key on disk", async () => {
    const dir = tempDir();
    process.env[MODEL_CACHE_ENV] = dir;
    const e = await emulator();
    await configure(e.url);
    expect((await check(jobArgs({ model: MODEL }))).failures).toEqual([]);
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(1);
    const text = fs.readFileSync(path.join(dir, files[0] ?? ""), "utf8");
    expect(text).toContain('"mistral-small-latest"');
    expect(`${files[0]}${text}`).not.toContain(TEST_KEY);
    expect(fs.statSync(path.join(dir, files[0] ?? "")).mode & 0o077).toBe(0);

    // A new process (a new runtime): a failing models API shows the copy was used, the fault is left unconsumed.
    newRuntime();
    await addFaults(e.url, "500*1@GET /v1/models");
    await configure(e.url);
    expect((await check(jobArgs({ model: "mistral-small-2506" }))).failures).toEqual([]);
    expect(await admin(e.url, "GET", "/__emulator/faults")).toHaveLength(1);
  });

  it("only lets a model pass: a model the copy lacks is looked up live, found there or refused from the live list", async () => {
    const dir = tempDir();
    process.env[MODEL_CACHE_ENV] = dir;
    const e = await emulator();
    const file = modelCacheFile(e.url, TEST_KEY);
    if (file === undefined) throw new Error("the cache is on: a file is expected");
    writeModelCache(file, [{ id: "only-this-one", aliases: [], capabilities: { completion_chat: true } }]);
    await configure(e.url);
    expect((await check(jobArgs({ model: MODEL }))).failures).toEqual([]); // not in the copy, in the live list
    const typo = await check(jobArgs({ model: "mistral-smal-latest" }));
    expect(typo.failures?.[0]?.reason).toMatch(/nearest: mistral-small-latest/); // named from the live list
    expect(fs.readFileSync(file, "utf8")).toContain('"mistral-small-latest"'); // the copy renewed
  });
});
