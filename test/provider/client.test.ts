/**
 * Error handling around the Mistral SDK (provider/client.ts): wrapped messages name the operation, the resource,
 * the HTTP status and Mistral's own message, keep the cause, never contain the API key; failures are classified
 * for retries; Retry-After is read.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ConnectionError,
  HTTPValidationError,
  RequestTimeoutError,
  SDKError,
} from "@mistralai/mistralai/models/errors";
import {
  MistralApiError,
  REFUSED_BUDGET_MS,
  SYNTHETIC_RETRY_AFTER_HEADER,
  ServerUnreachableError,
  backoffMs,
  call,
  guardedFetcher,
  lastPage,
  pendingLimitInText,
  pendingLimitOf,
  unreachableCode,
  unreachableOf,
  isAmbiguous,
  isNotFound,
  isRetryable,
  mistralClient,
  mistralCore,
  preloadSdk,
  mistralMessageOf,
  retryAfterMs,
  statusOf,
  wrapError,
} from "../../provider/client";
import { ProviderContext } from "../../provider/context";
import { PENDING_LIMIT_MESSAGE } from "../../provider/api/observed";

const KEY = "sk-test-4f9a8b7c6d5e4f3a2b1c";
/** The context `configure` builds for a stack config holding the key (and nothing in the environment). */
const ctx = ProviderContext.fromConfig({ get: (k) => (k === "mistral:apiKey" ? KEY : undefined) }, {});

/** An SDKError as the SDK builds it from a response. */
function sdkError(
  status: number,
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
): SDKError {
  const response = new Response(body, { status, headers });
  return new SDKError("API error occurred", {
    response,
    request: new Request("https://api.mistral.ai/v1/files"),
    body,
  });
}

let savedKey: string | undefined;
beforeEach(() => {
  savedKey = process.env.MISTRAL_API_KEY;
  delete process.env.MISTRAL_API_KEY;
});
afterEach(() => {
  if (savedKey === undefined) delete process.env.MISTRAL_API_KEY;
  else process.env.MISTRAL_API_KEY = savedKey;
  vi.useRealTimers();
});

describe("mistralMessageOf", () => {
  it("reads {message}", () => {
    expect(
      mistralMessageOf(
        sdkError(
          429,
          '{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}',
        ),
      ),
    ).toBe("Rate limit exceeded");
  });

  it("reads {detail: string}", () => {
    expect(mistralMessageOf(sdkError(404, '{"detail":"File not found"}'))).toBe("File not found");
  });

  it("reads {detail: [{loc, msg}]} joining every item with its location", () => {
    const body = JSON.stringify({
      detail: [
        { loc: ["body", "timeout_hours"], msg: "Input should be less than or equal to 168", type: "less_than_equal" },
        { loc: ["body", "input_files", 0], msg: "Input should be a valid UUID", type: "uuid_parsing" },
      ],
    });
    expect(mistralMessageOf(sdkError(422, body))).toBe(
      "body.timeout_hours: Input should be less than or equal to 168; body.input_files.0: Input should be a valid UUID",
    );
  });

  it("detail items without a location, or without a msg", () => {
    expect(
      mistralMessageOf(
        sdkError(422, '{"detail":[{"msg":"Invalid batch"},{"loc":[],"msg":"Empty"},{"loc":["body"],"type":"x"}]}'),
      ),
    ).toBe('Invalid batch; Empty; body: {"loc":["body"],"type":"x"}');
  });

  it("falls back to the raw body, cut to 500 characters, and to undefined without one", () => {
    expect(mistralMessageOf(sdkError(502, "<html>Bad Gateway</html>", { "content-type": "text/html" }))).toBe(
      "<html>Bad Gateway</html>",
    );
    expect(mistralMessageOf(sdkError(500, "x".repeat(2000), { "content-type": "text/plain" }))).toHaveLength(500);
    expect(mistralMessageOf(sdkError(500, "null"))).toBe("null");
    expect(mistralMessageOf(sdkError(500, '{"error":"other shape"}'))).toBe('{"error":"other shape"}');
    expect(mistralMessageOf(sdkError(500, ""))).toBeUndefined();
    expect(mistralMessageOf(new Error("no body"))).toBeUndefined();
    expect(mistralMessageOf(undefined)).toBeUndefined();
  });
});

describe("wrapError", () => {
  it("names the resource, the operation, the status and Mistral's message, and keeps the cause", () => {
    const cause = sdkError(422, JSON.stringify({ detail: [{ loc: ["body", "model"], msg: "Field required" }] }));
    const e = wrapError(ctx, cause, "batch.jobs.create", 'BatchJob "eval"') as MistralApiError;
    expect(e).toBeInstanceOf(MistralApiError);
    expect(e.name).toBe("MistralApiError");
    expect(e.message).toBe(
      'BatchJob "eval": Mistral API call batch.jobs.create failed with HTTP 422: body.model: Field required',
    );
    expect(e.operation).toBe("batch.jobs.create");
    expect(e.resource).toBe('BatchJob "eval"');
    expect(e.statusCode).toBe(422);
    expect(e.mistralMessage).toBe("body.model: Field required");
    expect(e.cause).toBe(cause);
  });

  it("{message} and {detail: string} bodies", () => {
    expect(
      wrapError(ctx, sdkError(429, '{"message":"Rate limit exceeded"}'), "files.list", "BatchFile q").message,
    ).toBe("BatchFile q: Mistral API call files.list failed with HTTP 429: Rate limit exceeded");
    expect(wrapError(ctx, sdkError(404, '{"detail":"Not Found"}'), "files.retrieve", "BatchFile f-1").message).toBe(
      "BatchFile f-1: Mistral API call files.retrieve failed with HTTP 404: Not Found",
    );
  });

  it("adds a hint on 401 telling where the key comes from", () => {
    const e = wrapError(ctx, sdkError(401, '{"message":"Unauthorized"}'), "files.upload", "BatchFile q");
    expect(e.message).toMatch(
      /^BatchFile q: Mistral API call files\.upload failed with HTTP 401: Unauthorized\. The API key was rejected/,
    );
    expect(e.message).toContain("pulumi config set --secret mistral:apiKey <key>");
    expect(e.message).toContain("MISTRAL_API_KEY");
    expect(wrapError(ctx, sdkError(403, '{"message":"Forbidden"}'), "x", "y").message).not.toContain(
      "The API key was rejected",
    );
  });

  it("never contains the API key, even when the body echoes it", () => {
    const body = JSON.stringify({ message: `Invalid key ${KEY} (Bearer ${KEY})` });
    const e = wrapError(ctx, sdkError(401, body), "files.list", "BatchFile q") as MistralApiError;
    expect(e.message).not.toContain(KEY);
    expect(e.mistralMessage).not.toContain(KEY);
    expect(e.message).toContain("Invalid key [redacted] (Bearer [redacted])");
    expect(String(e.stack)).not.toContain(KEY);

    // a raw non-JSON body, and a key from the environment instead of the stack config
    const fromEnv = ProviderContext.fromConfig(undefined, { MISTRAL_API_KEY: KEY });
    const raw = wrapError(
      fromEnv,
      sdkError(500, `upstream said: ${KEY}`, { "content-type": "text/plain" }),
      "files.list",
      "r",
    );
    expect(raw.message).not.toContain(KEY);
    // and an error with no body whose message carries it
    const plain = wrapError(
      fromEnv,
      new Error(`fetch to https://x?key=${KEY} failed`, { cause: new Error(`socket ${KEY}`) }),
      "files.list",
      "r",
    );
    expect(plain.message).not.toContain(KEY);
  });

  it("errors without an HTTP status use the error's message and its cause's", () => {
    const e = wrapError(
      ctx,
      new ConnectionError("Unable to make request", { cause: new TypeError("fetch failed") }),
      "batch.jobs.get",
      "BatchJob j",
    ) as MistralApiError;
    expect(e.statusCode).toBeUndefined();
    expect(e.message).toMatch(/^BatchJob j: Mistral API call batch\.jobs\.get failed: Unable to make request/);
    expect(e.message).toContain("fetch failed");
    expect(e.message).not.toContain("HTTP");
    expect(wrapError(ctx, "a thrown string", "op", "res").message).toBe("res: Mistral API call op failed");
  });

  it("returns an already wrapped error unchanged (no double wrapping)", () => {
    const once = wrapError(ctx, sdkError(500, '{"message":"boom"}'), "op1", "res");
    expect(wrapError(ctx, once, "op2", "other")).toBe(once);
  });

  it("call() passes values through and wraps failures", async () => {
    await expect(call(ctx, "files.list", "r", async () => 42)).resolves.toBe(42);
    const cause = sdkError(503, '{"message":"overloaded"}');
    const p = call(ctx, "files.list", "BatchFile q", async () => {
      throw cause;
    });
    await expect(p).rejects.toBeInstanceOf(MistralApiError);
    await expect(p).rejects.toMatchObject({
      statusCode: 503,
      cause,
      message: "BatchFile q: Mistral API call files.list failed with HTTP 503: overloaded",
    });
  });
});

describe("classification", () => {
  const cases: [string, unknown, { ambiguous: boolean; retryable: boolean; notFound: boolean }][] = [
    ["429", sdkError(429, '{"message":"Rate limit exceeded"}'), { ambiguous: false, retryable: true, notFound: false }],
    ["500", sdkError(500, '{"message":"internal"}'), { ambiguous: true, retryable: true, notFound: false }],
    ["502", sdkError(502, "bad gateway"), { ambiguous: true, retryable: true, notFound: false }],
    ["503", sdkError(503, '{"message":"unavailable"}'), { ambiguous: true, retryable: true, notFound: false }],
    ["504", sdkError(504, "timeout"), { ambiguous: true, retryable: true, notFound: false }],
    ["400", sdkError(400, '{"message":"bad"}'), { ambiguous: false, retryable: false, notFound: false }],
    ["401", sdkError(401, '{"message":"Unauthorized"}'), { ambiguous: false, retryable: false, notFound: false }],
    ["404", sdkError(404, '{"detail":"Not Found"}'), { ambiguous: false, retryable: false, notFound: true }],
    ["422", sdkError(422, '{"detail":[]}'), { ambiguous: false, retryable: false, notFound: false }],
    [
      "ConnectionError",
      new ConnectionError("Unable to make request", { cause: new TypeError("fetch failed") }),
      { ambiguous: true, retryable: true, notFound: false },
    ],
    [
      "RequestTimeoutError",
      new RequestTimeoutError("Request timed out"),
      { ambiguous: true, retryable: true, notFound: false },
    ],
    // A bare TypeError is a bug, not a network failure: the SDK reports those as ConnectionError.
    ["bare TypeError", new TypeError("x is not a function"), { ambiguous: false, retryable: false, notFound: false }],
    ["plain Error", new Error("bug"), { ambiguous: false, retryable: false, notFound: false }],
    ["undefined", undefined, { ambiguous: false, retryable: false, notFound: false }],
  ];

  it.each(cases)("%s", (_name, error, expected) => {
    expect({ ambiguous: isAmbiguous(error), retryable: isRetryable(error), notFound: isNotFound(error) }).toEqual(
      expected,
    );
  });

  it.each(cases)("%s, once wrapped, is classified the same", (_name, error, expected) => {
    const wrapped = wrapError(ctx, error, "op", "res");
    expect({ ambiguous: isAmbiguous(wrapped), retryable: isRetryable(wrapped), notFound: isNotFound(wrapped) }).toEqual(
      expected,
    );
  });

  it("statusOf reads statusCode only when it is a number", () => {
    expect(statusOf(sdkError(418, ""))).toBe(418);
    expect(statusOf({ statusCode: "500" })).toBeUndefined();
    expect(statusOf(null)).toBeUndefined();
  });

  it("a typed 422 (HTTPValidationError) carries its status and detail", () => {
    const body = JSON.stringify({
      detail: [{ loc: ["body", "endpoint"], msg: "Input should be '/v1/chat/completions'" }],
    });
    const e = new HTTPValidationError(JSON.parse(body), {
      response: new Response(body, { status: 422 }),
      request: new Request("https://x"),
      body,
    });
    expect(isRetryable(e)).toBe(false);
    expect(wrapError(ctx, e, "batch.jobs.create", "BatchJob j").message).toBe(
      "BatchJob j: Mistral API call batch.jobs.create failed with HTTP 422: body.endpoint: Input should be '/v1/chat/completions'",
    );
  });
});

describe("retryAfterMs", () => {
  const withHeader = (value?: string) => sdkError(429, "{}", value === undefined ? {} : { "retry-after": value });

  it("reads seconds", () => {
    expect(retryAfterMs(withHeader("3"))).toBe(3000);
    expect(retryAfterMs(withHeader("0"))).toBe(0);
    expect(retryAfterMs(withHeader("1.5"))).toBe(1500);
    expect(retryAfterMs(withHeader("-4"))).toBe(0);
  });

  it("reads an HTTP-date, relative to now; a past date means no wait", () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-11-05T10:00:00Z"));
    expect(retryAfterMs(withHeader("Thu, 05 Nov 2026 10:00:30 GMT"))).toBe(30_000);
    expect(retryAfterMs(withHeader("Thu, 05 Nov 2026 09:59:00 GMT"))).toBe(0);
  });

  it("undefined without a usable header", () => {
    expect(retryAfterMs(withHeader())).toBeUndefined();
    expect(retryAfterMs(withHeader("soon"))).toBeUndefined();
    expect(retryAfterMs(new Error("no headers"))).toBeUndefined();
    expect(retryAfterMs({ headers: { "retry-after": "3" } })).toBeUndefined(); // not a Headers object
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe("through the real SDK against a local server", () => {
  let server: http.Server;
  let url: string;
  let answer: { status: number; body: string; headers?: Record<string, string> };
  const seenAuth: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seenAuth.push(String(req.headers.authorization));
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("a 401 echoing the key: wrapped message has status, message, hint, and no key", async () => {
    answer = {
      status: 401,
      body: JSON.stringify({ message: `No such key: ${KEY}`, type: "invalid_request", param: null, code: null }),
    };
    const client = await mistralClient({ apiKey: KEY, serverUrl: url, sources: { apiKey: "test", serverUrl: "test" } });
    const p = call(ctx, "files.retrieve", "BatchFile f", () =>
      client.files.retrieve({ fileId: "3f0e1c2a-9b8d-4c7e-a6f5-0123456789ab" }),
    );
    const e = (await p.catch((x: unknown) => x)) as MistralApiError;
    expect(seenAuth.at(-1)).toBe(`Bearer ${KEY}`);
    expect(e).toBeInstanceOf(MistralApiError);
    expect(e.statusCode).toBe(401);
    expect(e.message).toMatch(
      /^BatchFile f: Mistral API call files\.retrieve failed with HTTP 401: No such key: \[redacted\] \(type invalid_request\)\. The API key was rejected/,
    );
    expect(e.message).not.toContain(KEY);
    expect(isRetryable(e.cause)).toBe(false);
  });

  it("a 429 with Retry-After: retryable, not ambiguous, delay read", async () => {
    answer = {
      status: 429,
      body: '{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}',
      headers: { "retry-after": "7" },
    };
    const client = await mistralClient({ apiKey: KEY, serverUrl: url, sources: { apiKey: "test", serverUrl: "test" } });
    const error = await client.files.list({}, { retries: { strategy: "none" } }).catch((x: unknown) => x);
    expect(statusOf(error)).toBe(429);
    expect(isRetryable(error)).toBe(true);
    expect(isAmbiguous(error)).toBe(false);
    expect(retryAfterMs(error)).toBe(7000);
    expect(mistralMessageOf(error)).toBe("Rate limit exceeded");
  });

  it("a refused connection fails within seconds, naming the URL: not ambiguous, not retryable", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const serverUrl = `http://127.0.0.1:${port}`;
    const client = await mistralClient({
      apiKey: KEY,
      serverUrl,
      sources: { apiKey: "test", serverUrl: "stack config mistral:serverUrl" },
    });
    // The client's own retry config (SAFE_RETRIES, with retryConnectionErrors): the SDK alone would take 2.5 min.
    const start = Date.now();
    const error = await client.files.list({}).catch((x: unknown) => x);
    expect(Date.now() - start).toBeLessThan(REFUSED_BUDGET_MS.firstContact + 2_000);
    expect(unreachableOf(error)).toBeInstanceOf(ServerUnreachableError);
    expect(isAmbiguous(error)).toBe(false);
    expect(isRetryable(error)).toBe(false);
    const wrapped = wrapError(ctx, error, "files.list", "BatchFile q");
    expect(wrapped.message).toMatch(
      new RegExp(
        `^BatchFile q: Mistral API call files\\.list failed: the Mistral server http://127\\.0\\.0\\.1:${port} \\(stack config mistral:serverUrl\\) refused the connection`,
      ),
    );
    expect(wrapped.message).toContain("Check mistral:serverUrl");
    expect(wrapped.message).not.toMatch(/timed out|\.js/);
    expect(isAmbiguous(wrapped)).toBe(false);
    expect(isRetryable(wrapped)).toBe(false);
  });

  it("the core client (mistralCore, the model check's): the same server, key and guarded fetcher as mistralClient", async () => {
    answer = {
      status: 429,
      body: '{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}',
    };
    const settings = { apiKey: KEY, serverUrl: url, sources: { apiKey: "test", serverUrl: "test" } };
    preloadSdk();
    preloadSdk(); // once per process: a second call changes nothing
    const { core, modelsList } = await mistralCore(settings);
    const result = await modelsList(core, undefined, { retries: { strategy: "none" } });
    expect(result.ok).toBe(false);
    const error = result.ok ? undefined : result.error;
    expect(seenAuth.at(-1)).toBe(`Bearer ${KEY}`);
    expect(statusOf(error)).toBe(429);
    // The guarded fetcher gave the 429 a Retry-After, as it does for the full client.
    const headers = (error as { headers?: Headers }).headers;
    expect(headers?.get(SYNTHETIC_RETRY_AFTER_HEADER)).toBe("1");
    expect(retryAfterMs(error)).toBe(2000);
    answer = {
      status: 200,
      body: '{"object":"list","data":[{"id":"m","object":"model","type":"base","capabilities":{}}]}',
    };
    const listed = await modelsList(core);
    expect(listed.ok && listed.value.data?.map((m) => ("id" in m ? m.id : undefined))).toEqual(["m"]);
  });

  it("a 429 without Retry-After is retried by the SDK with a growing wait, not hammered", async () => {
    const times: number[] = [];
    const limited = http.createServer((_req, res) => {
      times.push(Date.now());
      if (times.length <= 2) {
        res.writeHead(429, { "content-type": "application/json", "x-ratelimit-remaining-req-minute": "0" });
        res.end('{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}');
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"data":[],"object":"list","total":0}');
    });
    await new Promise<void>((resolve) => limited.listen(0, "127.0.0.1", resolve));
    try {
      const client = await mistralClient({
        apiKey: KEY,
        serverUrl: `http://127.0.0.1:${(limited.address() as AddressInfo).port}`,
        sources: { apiKey: "test", serverUrl: "test" },
      });
      const list = await client.files.list({});
      expect(list.data).toEqual([]);
      expect(times).toHaveLength(3);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(1_900); // 2 s after the first 429
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(3_900); // 4 s after the second
    } finally {
      await new Promise<void>((resolve) => limited.close(() => resolve()));
    }
  }, 20_000);
});

describe("guardedFetcher", () => {
  const refused = () =>
    Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
    });

  it("gives a 429 without Retry-After one that grows with consecutive 429s, and marks it", async () => {
    const statuses = [429, 429, 429, 200, 429];
    const fetcher = guardedFetcher("http://x", "test", async () => new Response("{}", { status: statuses.shift() }));
    const waits: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetcher("http://x/v1/files");
      waits.push(r.headers.get("retry-after"));
      if (r.status === 429) expect(r.headers.get(SYNTHETIC_RETRY_AFTER_HEADER)).toBe("1");
    }
    expect(waits).toEqual(["2", "4", "8", null, "2"]);
  });

  it("keeps a Retry-After the server sent", async () => {
    const fetcher = guardedFetcher(
      "http://x",
      "test",
      async () => new Response("{}", { status: 429, headers: { "retry-after": "7" } }),
    );
    expect((await fetcher("http://x/")).headers.get("retry-after")).toBe("7");
  });

  it("retries a refused connection briefly, then fails with ServerUnreachableError; other failures pass through", async () => {
    let calls = 0;
    const fetcher = guardedFetcher("http://127.0.0.1:9", "default", async () => {
      calls++;
      throw refused();
    });
    const start = Date.now();
    const error = await fetcher("http://127.0.0.1:9/v1/files").catch((x: unknown) => x);
    expect(Date.now() - start).toBeLessThan(REFUSED_BUDGET_MS.firstContact + 500);
    expect(calls).toBeGreaterThan(1);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toContain("http://127.0.0.1:9 (default) refused the connection");

    const reset = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } });
    const passing = guardedFetcher("http://x", "test", async () => {
      throw reset;
    });
    await expect(passing("http://x/")).rejects.toBe(reset);
  });

  it("a refusal after the server answered once (a restart) is retried longer, and recovers", async () => {
    const answers: (() => Response)[] = [
      () => new Response("{}"),
      () => {
        throw refused();
      },
      () => {
        throw refused();
      },
      () => new Response("{}"),
    ];
    const fetcher = guardedFetcher("http://x", "test", async () => (answers.shift() ?? (() => new Response("{}")))());
    expect((await fetcher("http://x/")).status).toBe(200);
    expect((await fetcher("http://x/")).status).toBe(200);
    expect(answers).toHaveLength(0);
  });

  it("unreachableCode finds the code in nested causes and in an AggregateError of refusals", () => {
    expect(unreachableCode(refused())).toBe("ECONNREFUSED");
    expect(unreachableCode({ cause: { code: "ENOTFOUND" } })).toBe("ENOTFOUND");
    const all = new AggregateError([{ code: "ECONNREFUSED" }, { code: "ECONNREFUSED" }]);
    expect(unreachableCode(new TypeError("fetch failed", { cause: all }))).toBe("ECONNREFUSED");
    expect(unreachableCode({ cause: { code: "ECONNRESET" } })).toBeUndefined();
    expect(unreachableCode(undefined)).toBeUndefined();
  });
});

describe("error bodies seen in the wild", () => {
  it("401 as {detail} and as the gateway's {message, request_id}", () => {
    const a = wrapError(ctx, sdkError(401, '{"detail":"Unauthorized"}'), "files.list", "BatchFile q");
    expect(a.message).toMatch(/failed with HTTP 401: Unauthorized\. The API key was rejected/);
    const b = wrapError(
      ctx,
      sdkError(401, '{"message":"Unauthorized","request_id":"7d1c0b8e5a"}'),
      "files.list",
      "BatchFile q",
    ) as MistralApiError;
    expect(b.message).toMatch(
      /failed with HTTP 401: Unauthorized \(request_id 7d1c0b8e5a\)\. The API key was rejected/,
    );
    expect(b.mistralMessage).toBe("Unauthorized");
    expect(isRetryable(b)).toBe(false);
  });

  it("429 rate_limited with raw_status_code and x-ratelimit-* headers, no Retry-After", () => {
    const body =
      '{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300","raw_status_code":429}';
    const e = sdkError(429, body, {
      "content-type": "application/json",
      "x-ratelimit-remaining-req-minute": "0",
      "x-ratelimit-limit-req-minute": "60",
    });
    const w = wrapError(ctx, e, "batch.jobs.create", "BatchJob j");
    expect(w.message).toBe(
      "BatchJob j: Mistral API call batch.jobs.create failed with HTTP 429: Rate limit exceeded (type rate_limited, code 1300); 0 of 60 requests left this minute",
    );
    expect(isRetryable(w)).toBe(true);
    expect(retryAfterMs(e)).toBeUndefined();
    // No Retry-After: 2 s, 4 s, ... up to 30 s, with jitter
    expect(backoffMs(w, 1)).toBeGreaterThanOrEqual(2_000);
    expect(backoffMs(w, 1)).toBeLessThanOrEqual(2_400);
    expect(backoffMs(w, 3)).toBeGreaterThanOrEqual(8_000);
    expect(backoffMs(w, 10)).toBeLessThanOrEqual(36_000);
    expect(backoffMs(sdkError(429, "{}", { "retry-after": "3" }), 5)).toBe(3_000);
    expect(backoffMs(sdkError(503, "{}"), 1)).toBeLessThanOrEqual(600);
  });

  it("an unknown model (400, code 1500, raw_status_code as the status)", () => {
    const body =
      '{"object":"error","message":"Invalid model: mistral-tiny-9","type":"invalid_model","param":null,"code":"1500","raw_status_code":400}';
    expect(wrapError(ctx, sdkError(400, body), "batch.jobs.create", "BatchJob j").message).toBe(
      "BatchJob j: Mistral API call batch.jobs.create failed with HTTP 400: Invalid model: mistral-tiny-9 (type invalid_model, code 1500)",
    );
    // a raw_status_code that differs from the status is shown
    expect(wrapError(ctx, sdkError(400, '{"message":"bad","raw_status_code":422}'), "op", "r").message).toBe(
      "r: Mistral API call op failed with HTTP 400: bad (upstream status 422)",
    );
  });

  it("a refusal for the workspace's pending-request limit: numbers, what to do, not retried", () => {
    const body = JSON.stringify({
      object: "error",
      message: PENDING_LIMIT_MESSAGE(999_000, 5_000),
      type: "rate_limited",
      param: null,
      code: null,
    });
    const e = sdkError(429, body);
    expect(pendingLimitOf(e)).toMatchObject({ pending: 999_000, requested: 5_000, limit: 1_000_000 });
    const w = wrapError(ctx, e, "batch.jobs.create", "BatchJob j");
    expect(w.message).toContain("999,000 requests pending, 5,000 in this job, limit 1,000,000");
    expect(w.message).toContain("Wait for running jobs to finish, cancel some");
    expect(w.message).toContain("split the input into smaller jobs");
    expect(isRetryable(e)).toBe(false);
    expect(isRetryable(w)).toBe(false);
    expect(pendingLimitOf(sdkError(429, '{"message":"Rate limit exceeded"}'))).toBeUndefined();
    expect(pendingLimitInText("Too many pending requests")).toMatchObject({ limit: 1_000_000 });
    expect(pendingLimitInText("Invalid model")).toBeUndefined();
  });

  it("lastPage: empty, shorter than the longest page seen, or total reached", () => {
    expect(lastPage(0, 0, 0, undefined)).toBe(true);
    expect(lastPage(50, 50, 50, undefined)).toBe(false); // a capped page is not the last
    expect(lastPage(50, 50, 100, 100)).toBe(true);
    expect(lastPage(50, 50, 100, 250)).toBe(false);
    expect(lastPage(20, 50, 120, null)).toBe(true);
  });
});
