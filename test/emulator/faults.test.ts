/**
 * Fault injection: every fault mode, configured every way (options, the compact string form, the admin route, the
 * CLI's `--fault` flag and `MISTRAL_EMULATOR_FAULTS`), as raw HTTP and as the official SDK sees it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Mistral } from "@mistralai/mistralai";
import { HTTPClient } from "@mistralai/mistralai/lib/http.js";
import { ConnectionError, SDKError } from "@mistralai/mistralai/models/errors";
import { parseFaults, startEmulator, type Emulator, type FaultRule } from "mistral-batch-emulator";
import { FaultError } from "../../packages/emulator/src/faults";
import { checkedClient } from "../support/client";
import { assertBuilt, startCli, stopAllClis } from "../support/cli";
import { readJson, type ErrorBody, type JobBody, type ListBody } from "../support/wire";

const RATE_LIMITED = {
  object: "error",
  message: "Rate limit exceeded",
  type: "rate_limited",
  param: null,
  code: "1300",
};
const RETRY = {
  strategy: "backoff" as const,
  backoff: { initialInterval: 10, maxInterval: 50, exponent: 1.1, maxElapsedTime: 5000 },
  retryConnectionErrors: true,
};
const CHAT_JOB = {
  requests: [{ custom_id: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
  model: "mistral-small-latest",
  endpoint: "/v1/chat/completions",
};

/** An SDK client that counts the HTTP attempts it makes (every retry is one more). */
function sdk(url: string, options: { retries?: boolean } = {}) {
  let attempts = 0;
  const httpClient = new HTTPClient({
    fetcher: (input, init) => {
      attempts++;
      return fetch(input, init);
    },
  });
  const client = new Mistral({
    apiKey: "test-key",
    serverURL: url,
    httpClient,
    ...(options.retries ? { retryConfig: RETRY } : {}),
  });
  return { client, attempts: () => attempts };
}

async function postJob(url: string, body: object = CHAT_JOB): Promise<Response> {
  return fetch(`${url}/v1/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function faultList(url: string): Promise<FaultRule[]> {
  return readJson<FaultRule[]>(await fetch(`${url}/__emulator/faults`));
}

async function jobsTagged(url: string, tag: string): Promise<{ id: string }[]> {
  const res = await fetch(`${url}/v1/batch/jobs?metadata=${encodeURIComponent(JSON.stringify({ tag }))}`);
  expect(res.status).toBe(200);
  return (await readJson<ListBody<JobBody>>(res)).data;
}

function uploadForm(name: string, content: string | Buffer): FormData {
  const form = new FormData();
  form.append("purpose", "batch");
  form.append("file", new Blob([content]), name);
  return form;
}

describe("parseFaults", () => {
  it("reads every compact form", () => {
    expect(parseFaults("429")).toEqual([{ kind: "status", status: 429, times: 1 }]);
    expect(parseFaults("503:2*1@POST /v1/batch/jobs")).toEqual([
      { kind: "status", status: 503, retryAfterSeconds: 2, times: 1, method: "POST", path: "/v1/batch/jobs" },
    ]);
    expect(parseFaults("500*3")).toEqual([{ kind: "status", status: 500, times: 3 }]);
    expect(parseFaults("drop")).toEqual([{ kind: "drop", times: 1 }]);
    expect(parseFaults("latency:250*inf")).toEqual([{ kind: "latency", ms: 250, times: null }]);
    expect(parseFaults("commit-then-drop@POST /v1/batch/jobs")).toEqual([
      { kind: "commit-then-drop", times: 1, method: "POST", path: "/v1/batch/jobs" },
    ]);
    expect(parseFaults("drop*2@get /v1/files/[^/]+/content")).toEqual([
      { kind: "drop", times: 2, method: "GET", path: "/v1/files/[^/]+/content" },
    ]);
    expect(parseFaults("429@/v1/files")).toEqual([{ kind: "status", status: 429, times: 1, path: "/v1/files" }]);
    expect(parseFaults(" 429*2 ; latency:10 ;; drop@DELETE /v1/files/.* ")).toHaveLength(3);
    expect(parseFaults("")).toEqual([]);
    expect(parseFaults("   ")).toEqual([]);
  });

  it("reads JSON rules, one or an array", () => {
    expect(parseFaults('{"kind":"status","status":429,"retryAfterSeconds":0,"times":2}')).toEqual([
      { kind: "status", status: 429, retryAfterSeconds: 0, times: 2 },
    ]);
    expect(
      parseFaults('[{"kind":"drop","method":"post","path":"/v1/files"},{"kind":"latency","ms":5,"times":null}]'),
    ).toEqual([
      { kind: "drop", method: "POST", path: "/v1/files" },
      { kind: "latency", ms: 5, times: null },
    ]);
  });

  it.each([
    ["teapot*2", /"teapot\*2".*unknown kind "teapot"/],
    ["999", /"999".*status 999 is not an HTTP error code 400\.\.599/],
    ["200", /status 200 is not an HTTP error code/],
    ["429:soon", /"429:soon".*Retry-After "soon" must be whole seconds/],
    ["429*0", /"429\*0".*times "0" must be a whole number > 0 or "inf"/],
    ["429*many", /times "many"/],
    ["latency", /"latency".*latency needs milliseconds >= 0.*received none/],
    ["latency:fast", /latency needs milliseconds.*received "fast"/],
    ["drop:5", /"drop:5".*drop takes no argument, received "5"/],
    ["commit-then-drop:1", /commit-then-drop takes no argument/],
    ["429@GET /v1/(files", /"429@GET \/v1\/\(files".*path is not a valid regular expression: "\/v1\/\(files"/],
    ["429 @GET /v1/files", /"429 @GET \/v1\/files".*cannot read it/],
    ["429; bogus", /"bogus".*unknown kind "bogus"/],
    ["{not json", /invalid JSON "\{not json"/],
    ['{"kind":"status"}', /status must be an HTTP error code 400\.\.599, received nothing/],
    ['{"kind":"status","status":429,"time":3}', /unknown field "time"/],
    [
      '{"kind":"status","status":429,"retryAfterSeconds":"soon"}',
      /retryAfterSeconds must be whole seconds >= 0, received "soon"/,
    ],
    ['{"kind":"drop","ms":5}', /ms applies to kind "latency" only/],
    ['{"kind":"latency","ms":-1}', /latency needs ms >= 0.*received -1/],
    ['{"kind":"drop","times":1.5}', /times must be a whole number > 0 or null.*received 1\.5/],
    ['{"kind":"drop","method":"PO ST"}', /method must be an HTTP method.*"PO ST"/],
    [
      '[{"kind":"drop"},{"kind":"nope"}]',
      /rule \[1\].*kind must be one of status, drop, latency, commit-then-drop, received "nope"/,
    ],
    ["[1]", /rule \[0\].*expected an object/],
  ])("rejects %s with a message naming the bad part", (spec, message) => {
    let error: unknown;
    try {
      parseFaults(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FaultError);
    expect((error as Error).message).toMatch(message);
  });

  it("checks rules given as objects too", async () => {
    await expect(startEmulator({ faults: [{ kind: "status", status: 99 }] })).rejects.toThrow(
      /status must be an HTTP error code 400\.\.599, received 99/,
    );
    await expect(startEmulator({ faults: "429*zero" })).rejects.toThrow(/times "zero"/);
  });
});

/**
 * One fault of each mode on its own route; `check` proves each fired exactly once and then went away. The same
 * scenario runs for every way of configuring faults.
 */
const SCENARIO = [
  "429@GET /v1/files",
  "500@GET /v1/batch/jobs",
  "503:3@DELETE /v1/files/[^/]+",
  "drop@GET /v1/files/[^/]+/content",
  "latency:200@GET /v1/files/[^/]+/url",
  "commit-then-drop@POST /v1/batch/jobs",
];
const SCENARIO_RULES: FaultRule[] = [
  { kind: "status", status: 429, method: "GET", path: "/v1/files" },
  { kind: "status", status: 500, method: "GET", path: "/v1/batch/jobs" },
  { kind: "status", status: 503, retryAfterSeconds: 3, method: "DELETE", path: "/v1/files/[^/]+" },
  { kind: "drop", method: "GET", path: "/v1/files/[^/]+/content" },
  { kind: "latency", ms: 200, method: "GET", path: "/v1/files/[^/]+/url" },
  { kind: "commit-then-drop", method: "POST", path: "/v1/batch/jobs" },
];

async function checkScenario(url: string): Promise<void> {
  expect(await faultList(url)).toHaveLength(6);
  const fileId = "0b6a4d0e-8f3c-4c51-9a43-2f7de0a7c001";

  // 429: Retry-After 1 and Mistral's body; the next request goes through
  let res = await fetch(`${url}/v1/files`);
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toBe("1");
  expect(await res.json()).toEqual(RATE_LIMITED);
  expect((await fetch(`${url}/v1/files`)).status).toBe(200);

  // 500: no Retry-After, a Mistral-shaped error body
  res = await fetch(`${url}/v1/batch/jobs`);
  expect(res.status).toBe(500);
  expect(res.headers.get("retry-after")).toBeNull();
  expect(await res.json()).toMatchObject({
    object: "error",
    type: "internal_server_error",
    message: expect.stringContaining("500"),
  });

  // 503 with the Retry-After it was given; then the real answer (404: no such file)
  res = await fetch(`${url}/v1/files/${fileId}`, { method: "DELETE" });
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("3");
  expect(await res.json()).toMatchObject({ object: "error", message: expect.stringContaining("503") });
  expect((await fetch(`${url}/v1/files/${fileId}`, { method: "DELETE" })).status).toBe(404);

  // drop: no answer at all
  await expect(fetch(`${url}/v1/files/${fileId}/content`)).rejects.toThrow(/fetch failed/);
  expect((await fetch(`${url}/v1/files/${fileId}/content`)).status).toBe(404);

  // latency: slower, then the ordinary answer
  const t0 = performance.now();
  res = await fetch(`${url}/v1/files/${fileId}/url`);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
  expect(res.status).toBe(404);

  // commit-then-drop: the client hears nothing, the job exists once
  const tag = `scenario-${Math.random().toString(36).slice(2)}`;
  await expect(postJob(url, { ...CHAT_JOB, metadata: { tag } })).rejects.toThrow(/fetch failed/);
  expect(await jobsTagged(url, tag)).toHaveLength(1);

  expect(await faultList(url)).toEqual([]);
}

describe("each fault mode, configured each way", () => {
  beforeAll(() => assertBuilt());
  afterEach(async () => {
    await stopAllClis();
  });

  it("options: the compact string form", async () => {
    const e = await startEmulator({ faults: SCENARIO.join(";") });
    try {
      await checkScenario(e.url);
    } finally {
      await e.close();
    }
  });

  it("options: rule objects", async () => {
    const e = await startEmulator({ faults: SCENARIO_RULES });
    try {
      expect(e.faults.list()).toEqual(SCENARIO_RULES.map((r) => ({ ...r, times: 1 })));
      await checkScenario(e.url);
    } finally {
      await e.close();
    }
  });

  it("admin route: compact text, JSON rule and JSON array; DELETE clears", async () => {
    const e = await startEmulator();
    try {
      const add = (body: string, contentType: string) =>
        fetch(`${e.url}/__emulator/faults`, { method: "POST", headers: { "content-type": contentType }, body });
      let res = await add(SCENARIO.slice(0, 2).join(";"), "text/plain");
      expect(res.status).toBe(200);
      expect(await res.json()).toHaveLength(2);
      res = await add(JSON.stringify(SCENARIO_RULES[2]), "application/json");
      expect(res.status).toBe(200);
      res = await add(JSON.stringify(SCENARIO_RULES.slice(3)), "application/json");
      expect(await res.json()).toEqual(SCENARIO_RULES.map((r) => ({ ...r, times: 1 })));
      await checkScenario(e.url);

      // a bad spec is refused with the message of parseFaults, and adds nothing
      res = await add("429*0", "text/plain");
      expect(res.status).toBe(400);
      expect((await readJson<ErrorBody>(res)).message).toMatch(/"429\*0".*times "0"/);
      res = await add('{"kind":"status","status":700}', "application/json");
      expect(res.status).toBe(400);
      expect((await readJson<ErrorBody>(res)).message).toMatch(
        /status must be an HTTP error code 400\.\.599, received 700/,
      );
      res = await fetch(`${e.url}/__emulator/faults`, { method: "POST" });
      expect(res.status).toBe(400);
      expect((await readJson<ErrorBody>(res)).message).toMatch(/fault spec: expected a string/);
      expect(await faultList(e.url)).toEqual([]);

      await add("503*inf", "text/plain");
      expect((await fetch(`${e.url}/v1/files`)).status).toBe(503);
      expect((await fetch(`${e.url}/v1/files`)).status).toBe(503);
      res = await fetch(`${e.url}/__emulator/faults`, { method: "DELETE" });
      expect(await res.json()).toEqual([]);
      expect((await fetch(`${e.url}/v1/files`)).status).toBe(200);
    } finally {
      await e.close();
    }
  });

  it("admin routes are never faulted", async () => {
    const e = await startEmulator({ faults: "drop*inf" });
    try {
      expect((await fetch(`${e.url}/__emulator/health`)).status).toBe(200);
      expect(await faultList(e.url)).toEqual([{ kind: "drop", times: null }]);
      await expect(fetch(`${e.url}/v1/files`)).rejects.toThrow(/fetch failed/);
    } finally {
      await e.close();
    }
  });

  it("CLI: repeated --fault flags", async () => {
    const cli = await startCli(["--port", "0", ...SCENARIO.flatMap((s) => ["--fault", s])]);
    await checkScenario(cli.url);
  });

  it("CLI: MISTRAL_EMULATOR_FAULTS, with the flags added after it", async () => {
    const cli = await startCli(["--port", "0", "--fault", "latency:1@GET /nothing"], {
      MISTRAL_EMULATOR_FAULTS: SCENARIO.join(";"),
    });
    expect(await faultList(cli.url)).toHaveLength(7);
    await fetch(`${cli.url}/__emulator/faults`, { method: "DELETE" });
    await fetch(`${cli.url}/__emulator/faults`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: SCENARIO.join(";"),
    });
    await checkScenario(cli.url);
  });
});

describe("what clients see", () => {
  let e: Emulator;
  beforeAll(async () => {
    e = await startEmulator();
  });
  afterAll(async () => {
    await e.close();
  });
  afterEach(() => {
    e.faults.clear();
  });

  it("429 burst: the SDK without retries gets the 429; with backoff it succeeds on the 4th attempt", async () => {
    e.faults.add(parseFaults("429*3@GET /v1/batch/jobs"));
    const plain = sdk(e.url);
    const err = await plain.client.batch.jobs.list({}).catch((x) => x);
    expect(err).toBeInstanceOf(SDKError);
    expect((err as SDKError).statusCode).toBe(429);
    expect(JSON.parse((err as SDKError).body)).toEqual(RATE_LIMITED);
    expect((err as SDKError).headers.get("retry-after")).toBe("1");
    expect(e.faults.list()).toEqual([{ kind: "status", status: 429, times: 2, method: "GET", path: "/v1/batch/jobs" }]);

    e.faults.clear();
    e.faults.add(parseFaults("429*3@GET /v1/batch/jobs"));
    const retrying = sdk(e.url, { retries: true });
    const t0 = performance.now();
    const list = await retrying.client.batch.jobs.list({});
    expect(list.object).toBe("list");
    expect(retrying.attempts()).toBe(4); // 3 answered 429, the 4th succeeded
    expect(e.faults.list()).toEqual([]); // the emulator saw all three
    expect(performance.now() - t0).toBeLessThan(3000); // maxInterval 50 ms caps Retry-After: 1
  });

  it("500 and 503: the SDK without retries throws SDKError, with backoff it succeeds", async () => {
    for (const status of [500, 503]) {
      e.faults.add(parseFaults(`${status}*2@GET /v1/files`));
      const err = await sdk(e.url)
        .client.files.list()
        .catch((x) => x);
      expect(err, String(status)).toBeInstanceOf(SDKError);
      expect((err as SDKError).statusCode).toBe(status);
      expect(JSON.parse((err as SDKError).body)).toMatchObject({ object: "error", type: "internal_server_error" });
      const retrying = sdk(e.url, { retries: true });
      const list = await retrying.client.files.list();
      expect(list.object).toBe("list");
      expect(retrying.attempts(), String(status)).toBe(2); // one 503 left, then success
      expect(e.faults.list()).toEqual([]);
    }
  });

  it("times and method/path: a fault on POST /v1/batch/jobs hits neither GET nor cancel, and stops after `times`", async () => {
    const c = checkedClient(e.url).client;
    const job = await c.batch.jobs.create({
      requests: [{ customId: "1", body: CHAT_JOB.requests[0].body }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    e.faults.add(parseFaults("429*2@POST /v1/batch/jobs"));
    for (let i = 0; i < 3; i++) expect((await fetch(`${e.url}/v1/batch/jobs`)).status).toBe(200);
    expect((await fetch(`${e.url}/v1/batch/jobs/${job.id}`)).status).toBe(200);
    expect((await fetch(`${e.url}/v1/batch/jobs/${job.id}/cancel`, { method: "POST" })).status).toBe(200);
    expect(e.faults.list()).toMatchObject([{ times: 2 }]);
    expect((await postJob(e.url)).status).toBe(429);
    expect(e.faults.list()).toMatchObject([{ times: 1 }]);
    expect((await postJob(e.url)).status).toBe(429);
    expect(e.faults.list()).toEqual([]);
    expect((await postJob(e.url)).status).toBe(200);

    // a path regular expression can cover more; `inf` never runs out
    e.faults.add(parseFaults("503*inf@POST /v1/batch/jobs(/.*)?"));
    for (let i = 0; i < 4; i++)
      expect((await fetch(`${e.url}/v1/batch/jobs/${job.id}/cancel`, { method: "POST" })).status).toBe(503);
    expect((await postJob(e.url)).status).toBe(503);
    expect((await fetch(`${e.url}/v1/batch/jobs`)).status).toBe(200);
    expect(e.faults.list()).toMatchObject([{ times: null }]);
  });

  it("drop: raw fetch rejects, the SDK throws ConnectionError, and retries of connection errors get through", async () => {
    e.faults.add(parseFaults("drop*3@GET /v1/batch/jobs"));
    const raw = await fetch(`${e.url}/v1/batch/jobs`).catch((x) => x);
    expect(raw).toBeInstanceOf(TypeError);
    expect((raw as Error).message).toBe("fetch failed");
    const plain = sdk(e.url);
    const err = await plain.client.batch.jobs.list({}).catch((x) => x);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(plain.attempts()).toBe(1);
    const retrying = sdk(e.url, { retries: true });
    expect((await retrying.client.batch.jobs.list({})).object).toBe("list");
    expect(retrying.attempts()).toBe(2);
    expect(e.faults.list()).toEqual([]);
  });

  it("latency: the answer is delayed by at least the configured time and otherwise unchanged", async () => {
    e.faults.add(parseFaults("latency:300*2@GET /v1/files"));
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const list = await checkedClient(e.url).client.files.list();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
      expect(list.object).toBe("list");
    }
    expect(e.faults.list()).toEqual([]);
  });

  it("latency adds up with another fault on the same request", async () => {
    e.faults.add(parseFaults("latency:150@GET /v1/files;429@GET /v1/files"));
    const t0 = performance.now();
    const res = await fetch(`${e.url}/v1/files`);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    expect(res.status).toBe(429);
  });

  it("commit-then-drop on POST /v1/batch/jobs: the client gets an error, the job exists exactly once", async () => {
    e.faults.add(parseFaults("commit-then-drop@POST /v1/batch/jobs"));
    const tag = "ctd-sdk";
    const plain = sdk(e.url);
    const err = await plain.client.batch.jobs
      .create({
        requests: [{ customId: "1", body: CHAT_JOB.requests[0].body }],
        model: "mistral-small-latest",
        endpoint: "/v1/chat/completions",
        metadata: { tag },
      })
      .catch((x) => x);
    expect(err).toBeInstanceOf(ConnectionError);
    const jobs = await jobsTagged(e.url, tag);
    expect(jobs).toHaveLength(1);
    // and it is a real job: it ran
    const job = await checkedClient(e.url).client.batch.jobs.get({ jobId: jobs[0].id });
    expect(job).toMatchObject({ status: "SUCCESS", totalRequests: 1, metadata: { tag } });
  });

  it("commit-then-drop with SDK retries: the retried POST creates a second job (why creation needs idempotency)", async () => {
    e.faults.add(parseFaults("commit-then-drop@POST /v1/batch/jobs"));
    const tag = "ctd-retry";
    const retrying = sdk(e.url, { retries: true });
    const created = await retrying.client.batch.jobs.create({
      requests: [{ customId: "1", body: CHAT_JOB.requests[0].body }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
      metadata: { tag },
    });
    expect(retrying.attempts()).toBe(2);
    const jobs = await jobsTagged(e.url, tag);
    expect(jobs).toHaveLength(2);
    expect(jobs.map((j) => j.id)).toContain(created.id);
  });

  it("commit-then-drop on POST /v1/files: the upload fails for the client, the file exists once, byte for byte", async () => {
    e.faults.add(parseFaults("commit-then-drop@POST /v1/files"));
    const content = Buffer.from('{"custom_id":"a","body":{"messages":[{"role":"user","content":"hi"}]}}\n');
    const err = await sdk(e.url)
      .client.files.upload({ file: { fileName: "ctd-upload.jsonl", content }, purpose: "batch" })
      .catch((x) => x);
    expect(err).toBeInstanceOf(ConnectionError);
    const c = checkedClient(e.url).client;
    const found = await c.files.list({ search: "ctd-upload" });
    expect(found.data).toHaveLength(1);
    expect(found.data[0]).toMatchObject({ filename: "ctd-upload.jsonl", sizeBytes: content.length, numLines: 1 });
    const body = Buffer.from(await new Response(await c.files.download({ fileId: found.data[0].id })).arrayBuffer());
    expect(body).toEqual(content);

    // a raw multipart upload sees the same
    e.faults.add(parseFaults("commit-then-drop@POST /v1/files"));
    await expect(
      fetch(`${e.url}/v1/files`, { method: "POST", body: uploadForm("ctd-raw.jsonl", content) }),
    ).rejects.toThrow(/fetch failed/);
    expect((await c.files.list({ search: "ctd-raw" })).data).toHaveLength(1);
  });

  it("a status fault on an upload answers without storing anything", async () => {
    e.faults.add(parseFaults("429@POST /v1/files"));
    const res = await fetch(`${e.url}/v1/files`, {
      method: "POST",
      body: uploadForm("never.jsonl", Buffer.alloc(1_000_000, 97)),
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(RATE_LIMITED);
    const c = checkedClient(e.url).client;
    expect((await c.files.list({ search: "never" })).data).toEqual([]);
  });
});

describe("CLI: requests counted by --log", () => {
  beforeAll(() => assertBuilt());
  afterAll(async () => {
    await stopAllClis();
  });

  it("the SDK with backoff gets through a 429 burst set by MISTRAL_EMULATOR_FAULTS; the emulator saw every attempt", async () => {
    const cli = await startCli(["--port", "0", "--log"], { MISTRAL_EMULATOR_FAULTS: "429*3@GET /v1/batch/jobs" });
    const retrying = sdk(cli.url, { retries: true });
    const list = await retrying.client.batch.jobs.list({});
    expect(list.total).toBe(0);
    const seen = cli
      .stderr()
      .split("\n")
      .filter((l) => /^GET \/v1\/batch\/jobs(\?|$)/.test(l));
    expect(seen).toHaveLength(4);
    expect(retrying.attempts()).toBe(4);
    expect(await faultList(cli.url)).toEqual([]);
  });

  it("drops set by --fault: the SDK retrying connection errors gets through", async () => {
    const cli = await startCli(["--port", "0", "--log", "--fault", "drop*2@POST /v1/batch/jobs"]);
    const retrying = sdk(cli.url, { retries: true });
    const job = await retrying.client.batch.jobs.create({
      requests: [{ customId: "1", body: CHAT_JOB.requests[0].body }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    expect(job.status).toBe("QUEUED");
    expect(
      cli
        .stderr()
        .split("\n")
        .filter((l) => l === "POST /v1/batch/jobs"),
    ).toHaveLength(3);
    // dropped before handling: only the third attempt created a job
    const all = await readJson<ListBody<JobBody>>(await fetch(`${cli.url}/v1/batch/jobs`));
    expect(all.total).toBe(1);
  });
});
