/**
 * BatchJob decisions (provider/jobLogic.ts): input checks, the idempotency key, diffs, wait policy and the progress
 * line. The poll schedule itself: poll.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT_HOURS,
  FINAL_STATUSES,
  IDEMPOTENCY_METADATA_KEY,
  MAX_INLINE_REQUESTS,
  POLICY_FIELDS,
  RESUBMITTABLE_STATUSES,
  SUBMISSION_FIELDS,
  checkJobInputs,
  diffJob,
  idempotencyKey,
  isFinal,
  progressLine,
  WAIT_MARGIN_MINUTES,
  waitPolicy,
  type Failure,
  type JobInputs,
} from "../../provider/jobLogic";
import { API_ENDPOINTS } from "../../provider/requests";
import { UNKNOWN, canonicalJson, containsUnknown } from "../../provider/unknown";

const FILE_A = "3f0e1c2a-9b8d-4c7e-a6f5-0123456789ab";
const FILE_B = "7a1b2c3d-4e5f-4a6b-8c9d-abcdefabcdef";
const CHAT_BODY = { messages: [{ role: "user", content: "Hello" }] };

const base = (extra: Record<string, unknown> = {}) => ({
  inputFiles: [FILE_A],
  model: "mistral-small-latest",
  scope: "proj/dev/job",
  ...extra,
});
const failuresOf = (news: Record<string, unknown>) => checkJobInputs(news).failures;
/** The single failure of an input set (fails the test if there are others). */
function onlyFailure(news: Record<string, unknown>): Failure {
  const f = failuresOf(news);
  expect(f, JSON.stringify(f)).toHaveLength(1);
  return f[0]!;
}

describe("checkJobInputs: valid inputs and defaults", () => {
  it("accepts a minimal job and fills endpoint and timeoutHours", () => {
    const { inputs, failures } = checkJobInputs(base());
    expect(failures).toEqual([]);
    expect(inputs.endpoint).toBe("/v1/chat/completions");
    expect(DEFAULT_ENDPOINT).toBe("/v1/chat/completions");
    expect(inputs.timeoutHours).toBe(24);
    expect(DEFAULT_TIMEOUT_HOURS).toBe(24);
    expect(inputs.inputFiles).toEqual([FILE_A]);
  });

  it("null endpoint and timeoutHours also take the defaults; given values are kept", () => {
    expect(checkJobInputs(base({ endpoint: null, timeoutHours: null })).inputs).toMatchObject({
      endpoint: DEFAULT_ENDPOINT,
      timeoutHours: 24,
    });
    const { inputs, failures } = checkJobInputs(base({ endpoint: "/v1/embeddings", timeoutHours: 168 }));
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ endpoint: "/v1/embeddings", timeoutHours: 168 });
  });

  it("does not modify the object it was given", () => {
    const news = base();
    checkJobInputs(news);
    expect(news).toEqual(base());
  });

  it("accepts every endpoint, agentId instead of model, and every policy", () => {
    for (const endpoint of API_ENDPOINTS) expect(failuresOf(base({ endpoint }))).toEqual([]);
    expect(failuresOf({ inputFiles: [FILE_A], agentId: "ag_123" })).toEqual([]);
    expect(
      failuresOf(
        base({
          metadata: { team: "search", run: "2026-11" },
          waitForCompletion: { timeoutMinutes: 30, pollIntervalSeconds: 2 },
          resubmitOn: ["FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"],
          deleteResultFilesOnDestroy: true,
          timeoutHours: 1,
        }),
      ),
    ).toEqual([]);
    expect(failuresOf(base({ waitForCompletion: true }))).toEqual([]);
    expect(failuresOf(base({ waitForCompletion: false }))).toEqual([]);
  });
});

describe("checkJobInputs: failures name the property, the value and what is allowed", () => {
  it("endpoint not in the list", () => {
    const f = onlyFailure(base({ endpoint: "/v1/agents/completions" }));
    expect(f.property).toBe("endpoint");
    expect(f.reason).toContain('"/v1/agents/completions"');
    for (const e of API_ENDPOINTS) expect(f.reason).toContain(e);
  });

  it("neither model nor agentId, or both", () => {
    const missing = onlyFailure({ inputFiles: [FILE_A] });
    expect(missing.property).toBe("model");
    expect(missing.reason).toMatch(/model is missing/);
    expect(missing.reason).toMatch(/agentId/);
    const both = onlyFailure(base({ agentId: "ag_1" }));
    expect(both.property).toBe("agentId");
    expect(both.reason).toBe(
      'agentId is "ag_1" and model is "mistral-small-latest"; set either model or agentId, not both',
    );
  });

  it("model or agentId empty or not a string", () => {
    expect(onlyFailure(base({ model: "  " }))).toEqual({
      property: "model",
      reason: 'model is "  "; expected a non-empty string',
    });
    expect(onlyFailure(base({ model: 42 }))).toEqual({
      property: "model",
      reason: "model is 42; expected a non-empty string",
    });
    expect(onlyFailure({ inputFiles: [FILE_A], agentId: "" })).toEqual({
      property: "agentId",
      reason: 'agentId is ""; expected a non-empty string',
    });
  });

  it("neither inputFiles nor requests, or both", () => {
    const missing = onlyFailure({ model: "m" });
    expect(missing.property).toBe("inputFiles");
    expect(missing.reason).toMatch(/inputFiles is missing/);
    const both = failuresOf(base({ requests: [{ customId: "a", body: CHAT_BODY }] }));
    expect(both).toEqual([
      {
        property: "requests",
        reason: expect.stringMatching(
          new RegExp(
            `^requests is \\[\\{"customId":"a".* and inputFiles is \\["${FILE_A}"\\]; set either inputFiles or requests, not both$`,
          ),
        ),
      },
    ]);
  });

  it("inputFiles empty, not a list, or holding something other than a file id", () => {
    expect(onlyFailure(base({ inputFiles: [] }))).toEqual({
      property: "inputFiles",
      reason: "inputFiles is []; expected a non-empty list of file ids",
    });
    expect(onlyFailure(base({ inputFiles: FILE_A }))).toMatchObject({
      property: "inputFiles",
      reason: expect.stringContaining(`"${FILE_A}"`),
    });
    const f = failuresOf(base({ inputFiles: [FILE_A, "questions.jsonl", 7] }));
    expect(f).toEqual([
      {
        property: "inputFiles[1]",
        reason: expect.stringMatching(/^inputFiles\[1\] is "questions\.jsonl"; expected a Mistral file id \(a UUID/),
      },
      { property: "inputFiles[2]", reason: expect.stringMatching(/^inputFiles\[2\] is 7; expected a Mistral file id/) },
    ]);
    expect(failuresOf(base({ inputFiles: [FILE_A.toUpperCase(), FILE_B] }))).toEqual([]);
  });

  it("timeoutHours outside 1..168 or not whole", () => {
    for (const t of [0, 169, 1.5, -1, "24", Number.NaN]) {
      const f = onlyFailure(base({ timeoutHours: t }));
      expect(f.property).toBe("timeoutHours");
      expect(f.reason).toContain(`timeoutHours is ${JSON.stringify(t)}`);
      expect(f.reason).toMatch(/whole number of hours from 1 to 168/);
    }
  });

  it("metadata: not an object, key lengths, value types and lengths", () => {
    expect(onlyFailure(base({ metadata: ["a"] }))).toEqual({
      property: "metadata",
      reason: 'metadata is ["a"]; expected an object of string values',
    });
    const longKey = "k".repeat(33);
    expect(onlyFailure(base({ metadata: { [longKey]: "v" } }))).toEqual({
      property: `metadata.${longKey}`,
      reason: `metadata key "${longKey}" has 33 characters; keys must have 1 to 32`,
    });
    expect(onlyFailure(base({ metadata: { "": "v" } }))).toMatchObject({
      property: "metadata.",
      reason: expect.stringMatching(/has 0 characters; keys must have 1 to 32/),
    });
    expect(failuresOf(base({ metadata: { ["k".repeat(32)]: "v".repeat(512) } }))).toEqual([]);
    expect(onlyFailure(base({ metadata: { n: 5 } }))).toEqual({
      property: "metadata.n",
      reason: "metadata.n is 5; values must be strings",
    });
    expect(onlyFailure(base({ metadata: { e: "" } }))).toEqual({
      property: "metadata.e",
      reason: "metadata.e has 0 characters; values must have 1 to 512",
    });
    expect(onlyFailure(base({ metadata: { l: "v".repeat(513) } }))).toEqual({
      property: "metadata.l",
      reason: "metadata.l has 513 characters; values must have 1 to 512",
    });
  });

  it("the idempotency metadata key is reserved", () => {
    const f = onlyFailure(base({ metadata: { [IDEMPOTENCY_METADATA_KEY]: "mine" } }));
    expect(f.property).toBe(`metadata.${IDEMPOTENCY_METADATA_KEY}`);
    expect(f.reason).toMatch(/reserved/);
    expect(f.reason).toContain(IDEMPOTENCY_METADATA_KEY);
  });

  it("waitForCompletion: wrong type, unknown field, non-positive numbers", () => {
    expect(onlyFailure(base({ waitForCompletion: "yes" }))).toEqual({
      property: "waitForCompletion",
      reason: 'waitForCompletion is "yes"; expected true, false or { timeoutMinutes, pollIntervalSeconds }',
    });
    expect(onlyFailure(base({ waitForCompletion: { timeout: 5 } }))).toEqual({
      property: "waitForCompletion.timeout",
      reason: "unknown field timeout; allowed: timeoutMinutes, pollIntervalSeconds",
    });
    for (const v of [0, -1, "5", Number.POSITIVE_INFINITY]) {
      expect(onlyFailure(base({ waitForCompletion: { pollIntervalSeconds: v } }))).toEqual({
        property: "waitForCompletion.pollIntervalSeconds",
        reason: `waitForCompletion.pollIntervalSeconds is ${JSON.stringify(v)}; expected a number > 0`,
      });
    }
  });

  it("resubmitOn: not a list, or a status that is not final-and-unsuccessful", () => {
    expect(onlyFailure(base({ resubmitOn: "FAILED" }))).toEqual({
      property: "resubmitOn",
      reason: 'resubmitOn is "FAILED"; expected a list of statuses',
    });
    for (const s of ["SUCCESS", "RUNNING", "failed"]) {
      expect(onlyFailure(base({ resubmitOn: ["FAILED", s] }))).toEqual({
        property: "resubmitOn[1]",
        reason: `resubmitOn[1] is "${s}"; allowed: FAILED, TIMEOUT_EXCEEDED, CANCELLED`,
      });
    }
  });

  it("deleteResultFilesOnDestroy must be a boolean", () => {
    expect(onlyFailure(base({ deleteResultFilesOnDestroy: "true" }))).toEqual({
      property: "deleteResultFilesOnDestroy",
      reason: 'deleteResultFilesOnDestroy is "true"; expected true or false',
    });
  });

  it("reports several failures at once", () => {
    const f = failuresOf({ endpoint: "/x", timeoutHours: 0, metadata: { n: 1 } });
    expect(f.map((x) => x.property).sort()).toEqual(["endpoint", "inputFiles", "metadata.n", "model", "timeoutHours"]);
  });
});

describe("checkJobInputs: inline requests", () => {
  const inline = (requests: unknown, extra: Record<string, unknown> = {}) => ({ model: "m", requests, ...extra });

  it("accepts up to 10,000 and refuses 10,001, pointing at BatchFile", () => {
    const make = (n: number) => Array.from({ length: n }, (_, i) => ({ customId: `r${i}`, body: CHAT_BODY }));
    expect(MAX_INLINE_REQUESTS).toBe(10_000);
    expect(failuresOf(inline(make(10_000)))).toEqual([]);
    const f = onlyFailure(inline(make(10_001)));
    expect(f.property).toBe("requests");
    expect(f.reason).toMatch(/holds 10001 items; Mistral takes at most 10000 inline: use a BatchFile/);
  });

  it("empty or not a list", () => {
    expect(onlyFailure(inline([]))).toEqual({
      property: "requests",
      reason: "requests is []; expected a non-empty list of { customId, body }",
    });
    expect(onlyFailure(inline({ customId: "a" }))).toMatchObject({ property: "requests" });
  });

  it("duplicate customIds name both positions", () => {
    const f = onlyFailure(
      inline([
        { customId: "a", body: CHAT_BODY },
        { customId: "b", body: CHAT_BODY },
        { customId: "a", body: CHAT_BODY },
      ]),
    );
    expect(f).toEqual({
      property: "requests[2].customId",
      reason: 'requests[2].customId "a" repeats requests[0].customId; custom ids must be unique',
    });
  });

  it("item not an object, missing customId, body not an object", () => {
    expect(onlyFailure(inline(["x"]))).toEqual({
      property: "requests[0]",
      reason: 'requests[0] is "x"; expected { customId, body }',
    });
    expect(onlyFailure(inline([{ body: CHAT_BODY }]))).toEqual({
      property: "requests[0].customId",
      reason: "requests[0].customId is missing; expected a non-empty string, unique in the file",
    });
    expect(onlyFailure(inline([{ customId: "a", body: "hi" }]))).toMatchObject({
      property: "requests[0].body",
      reason: expect.stringMatching(/^requests\[0\]\.body is "hi"; expected a JSON object/),
    });
  });

  it("bodies are checked for the job's endpoint (default chat)", () => {
    const emb = [{ customId: "a", body: { input: "text" } }];
    expect(onlyFailure(inline(emb))).toEqual({
      property: "requests[0].body.messages",
      reason: "requests[0].body.messages is missing; expected a non-empty array of messages ({ role, content })",
    });
    expect(failuresOf(inline(emb, { endpoint: "/v1/embeddings" }))).toEqual([]);
    expect(onlyFailure(inline([{ customId: "a", body: CHAT_BODY }], { endpoint: "/v1/embeddings" }))).toMatchObject({
      property: "requests[0].body.input",
    });
    expect(onlyFailure(inline([{ customId: "a", body: { messages: [{ role: "bot", content: "x" }] } }]))).toMatchObject(
      {
        property: "requests[0].body.messages[0].role",
        reason: expect.stringContaining('is "bot"; expected "system", "user", "assistant", "tool"'),
      },
    );
  });

  it("an unknown endpoint checks only the envelope", () => {
    expect(failuresOf(inline([{ customId: "a", body: { input: "x" } }], { endpoint: UNKNOWN }))).toEqual([]);
    expect(failuresOf(inline([{ body: {} }], { endpoint: UNKNOWN }))).toMatchObject([
      { property: "requests[0].customId" },
    ]);
  });

  it("stops listing item failures after 10", () => {
    const f = failuresOf(inline(Array.from({ length: 50 }, () => ({ body: CHAT_BODY }))));
    expect(f).toHaveLength(10);
  });
});

describe("checkJobInputs: unknown values (preview) are skipped", () => {
  it("whole fields", () => {
    for (const field of [
      "endpoint",
      "model",
      "inputFiles",
      "timeoutHours",
      "metadata",
      "waitForCompletion",
      "resubmitOn",
      "deleteResultFilesOnDestroy",
    ]) {
      expect(failuresOf(base({ [field]: UNKNOWN })), field).toEqual([]);
    }
    expect(failuresOf({ model: "m", requests: UNKNOWN })).toEqual([]);
    expect(failuresOf({ inputFiles: [FILE_A], agentId: UNKNOWN })).toEqual([]);
  });

  it("an unknown endpoint is kept, not replaced by the default", () => {
    expect(checkJobInputs(base({ endpoint: UNKNOWN })).inputs.endpoint).toBe(UNKNOWN);
  });

  it("inside arrays: unknown file ids and unknown request items are skipped, known ones still checked", () => {
    expect(failuresOf(base({ inputFiles: [UNKNOWN, FILE_A] }))).toEqual([]);
    expect(failuresOf(base({ inputFiles: [UNKNOWN, "bad"] }))).toMatchObject([{ property: "inputFiles[1]" }]);
    const requests = [
      { customId: UNKNOWN, body: CHAT_BODY },
      { customId: "b", body: { messages: UNKNOWN } },
      { customId: "c", body: { messages: [{ role: "user", content: UNKNOWN }] } },
      UNKNOWN,
    ];
    expect(failuresOf({ model: "m", requests })).toEqual([]);
    expect(failuresOf({ model: "m", requests: [...requests, { customId: "d", body: {} }] })).toMatchObject([
      { property: "requests[4].body.messages" },
    ]);
  });

  it("inside objects: unknown metadata values and wait fields are skipped, known parts still checked", () => {
    expect(failuresOf(base({ metadata: { a: UNKNOWN, b: "x" } }))).toEqual([]);
    expect(failuresOf(base({ waitForCompletion: { timeoutMinutes: UNKNOWN } }))).toEqual([]);
    expect(failuresOf(base({ resubmitOn: [UNKNOWN, "FAILED"] }))).toEqual([]);
    // A known mistake next to an unknown value is still reported during preview.
    expect(failuresOf(base({ metadata: { a: UNKNOWN, [IDEMPOTENCY_METADATA_KEY]: "x" } }))).toMatchObject([
      { property: `metadata.${IDEMPOTENCY_METADATA_KEY}` },
    ]);
    expect(failuresOf(base({ metadata: { a: UNKNOWN, b: 5 } }))).toMatchObject([{ property: "metadata.b" }]);
    expect(failuresOf(base({ waitForCompletion: { timeoutMinutes: UNKNOWN, pollIntervalSeconds: -1 } }))).toMatchObject(
      [{ property: "waitForCompletion.pollIntervalSeconds" }],
    );
    expect(failuresOf(base({ resubmitOn: [UNKNOWN, "SUCCESS"] }))).toMatchObject([{ property: "resubmitOn[1]" }]);
  });
});

describe("unknown.ts helpers", () => {
  it("containsUnknown looks inside arrays and objects", () => {
    expect(containsUnknown(UNKNOWN)).toBe(true);
    expect(containsUnknown([1, [2, { a: UNKNOWN }]])).toBe(true);
    expect(containsUnknown({ a: { b: [UNKNOWN] } })).toBe(true);
    expect(containsUnknown({ a: "04da6b54" })).toBe(false);
    expect(containsUnknown(null)).toBe(false);
  });

  it("canonicalJson sorts keys at every depth and drops undefined fields", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson(undefined)).toBe("null");
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    // Integer-like keys, which objects order first, sort as strings; escapes as JSON.stringify writes them.
    expect(canonicalJson({ "9": 0, "10": 1, b: '\u2028"' })).toBe('{"10":1,"9":0,"b":"\u2028\\""}');
  });

  it("canonicalJson renders exactly what its first form did (request keys in state and in uploaded ids depend on it)", () => {
    // The first form, kept here as the reference: a change of the rendering would change every request's key, and
    // every RequestSet would submit all its requests again.
    const reference = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
      if (value && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(",")}}`;
      }
      return JSON.stringify(value ?? null);
    };
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: "small" }, fc.jsonValue(), fc.constant(undefined), tie("array"), tie("object")),
      array: fc.array(tie("any"), { maxLength: 4 }),
      object: fc.dictionary(fc.string(), tie("any"), { maxKeys: 5 }),
    })).any;
    fc.assert(
      fc.property(value, (v) => canonicalJson(v) === reference(v)),
      { numRuns: 2000 },
    );
  });
});

describe("idempotencyKey", () => {
  const inputs: JobInputs = {
    inputFiles: [FILE_A],
    model: "mistral-small-latest",
    endpoint: "/v1/chat/completions",
    metadata: { team: "search", run: "1" },
    timeoutHours: 24,
    scope: "proj/dev/job",
  };

  it("is 32 hex characters and stable across calls and metadata key order", () => {
    const k = idempotencyKey(inputs);
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(idempotencyKey({ ...inputs })).toBe(k);
    expect(idempotencyKey({ ...inputs, metadata: { run: "1", team: "search" } })).toBe(k);
    // and across the key order of the inputs themselves and of request bodies
    const reordered = Object.fromEntries(Object.entries(inputs).reverse()) as unknown as JobInputs;
    expect(idempotencyKey(reordered)).toBe(k);
    const withReq = (body: Record<string, unknown>) =>
      idempotencyKey({ ...inputs, inputFiles: undefined, requests: [{ customId: "a", body }] });
    expect(withReq({ temperature: 0, messages: [] })).toBe(withReq({ messages: [], temperature: 0 }));
  });

  it("differs per scope", () => {
    expect(idempotencyKey({ ...inputs, scope: "proj/prod/job" })).not.toBe(idempotencyKey(inputs));
    expect(idempotencyKey({ ...inputs, scope: "proj/dev/job2" })).not.toBe(idempotencyKey(inputs));
  });

  it("differs when any submission field changes", () => {
    const k = idempotencyKey(inputs);
    const variants: Partial<JobInputs>[] = [
      { inputFiles: [FILE_B] },
      { inputFiles: [FILE_A, FILE_B] },
      { inputFiles: undefined, requests: [{ customId: "a", body: CHAT_BODY }] },
      { model: "mistral-large-latest" },
      { model: undefined, agentId: "ag_1" },
      { endpoint: "/v1/embeddings" },
      { metadata: { team: "search", run: "2" } },
      { metadata: { team: "search" } },
      { metadata: undefined },
      { timeoutHours: 48 },
    ];
    const keys = variants.map((v) => idempotencyKey({ ...inputs, ...v }));
    for (const key of keys) expect(key).not.toBe(k);
    expect(new Set(keys).size).toBe(keys.length);
    // every submission field is covered by a variant above
    for (const f of SUBMISSION_FIELDS)
      expect(
        variants.some((v) => f in v),
        f,
      ).toBe(true);
  });

  it("is unaffected by policy fields", () => {
    const k = idempotencyKey(inputs);
    expect(
      idempotencyKey({
        ...inputs,
        waitForCompletion: { timeoutMinutes: 5 },
        resubmitOn: ["FAILED"],
        deleteResultFilesOnDestroy: true,
      }),
    ).toBe(k);
    expect(idempotencyKey({ ...inputs, waitForCompletion: true })).toBe(k);
  });

  it("the scope cannot be confused with the submission", () => {
    // "\u0000" separates scope and submission: shifting text between them changes the key
    expect(idempotencyKey({ ...inputs, scope: "a" })).not.toBe(idempotencyKey({ ...inputs, scope: "a\u0000" }));
  });
});

describe("diffJob", () => {
  const olds = {
    inputFiles: [FILE_A],
    model: "mistral-small-latest",
    endpoint: "/v1/chat/completions",
    metadata: { team: "search" },
    timeoutHours: 24,
    waitForCompletion: false,
    scope: "proj/dev/job",
    // outputs
    id: "job-1",
    status: "RUNNING",
    idempotencyKey: "k",
  };
  const news = () => {
    const { id: _id, status: _s, idempotencyKey: _k, ...inputs } = olds;
    return structuredClone(inputs) as Record<string, unknown>;
  };

  it("no change: changes false, nothing replaced", () => {
    expect(diffJob(olds, news())).toEqual({ changes: false, replaces: [] });
    // metadata key order is not a change
    expect(diffJob({ ...olds, metadata: { a: "1", b: "2" } }, { ...news(), metadata: { b: "2", a: "1" } })).toEqual({
      changes: false,
      replaces: [],
    });
  });

  it("each submission field change replaces, naming the field", () => {
    const changed: Record<(typeof SUBMISSION_FIELDS)[number], unknown> = {
      inputFiles: [FILE_B],
      requests: [{ customId: "a", body: CHAT_BODY }],
      model: "mistral-large-latest",
      agentId: "ag_1",
      endpoint: "/v1/embeddings",
      metadata: { team: "ads" },
      timeoutHours: 48,
    };
    for (const field of SUBMISSION_FIELDS) {
      const d = diffJob(olds, { ...news(), [field]: changed[field] });
      expect(d, field).toEqual({ changes: true, replaces: [field] });
    }
    expect(diffJob(olds, { ...news(), metadata: undefined })).toEqual({ changes: true, replaces: ["metadata"] });
  });

  it("an unknown new value replaces, even when nested", () => {
    expect(diffJob(olds, { ...news(), inputFiles: UNKNOWN })).toEqual({ changes: true, replaces: ["inputFiles"] });
    expect(diffJob(olds, { ...news(), inputFiles: [UNKNOWN] })).toEqual({ changes: true, replaces: ["inputFiles"] });
    expect(diffJob(olds, { ...news(), metadata: { team: UNKNOWN } })).toEqual({
      changes: true,
      replaces: ["metadata"],
    });
  });

  it("policy changes update in place without replacing", () => {
    const policies: Record<(typeof POLICY_FIELDS)[number], unknown> = {
      waitForCompletion: { timeoutMinutes: 10 },
      resubmitOn: ["CANCELLED"],
      deleteResultFilesOnDestroy: true,
    };
    for (const field of POLICY_FIELDS) {
      expect(diffJob(olds, { ...news(), [field]: policies[field] }), field).toEqual({ changes: true, replaces: [] });
      expect(diffJob(olds, { ...news(), [field]: UNKNOWN }), `${field} unknown`).toEqual({
        changes: true,
        replaces: [],
      });
    }
  });

  it("resubmitOn holding the last status replaces with 'status'", () => {
    for (const status of RESUBMITTABLE_STATUSES) {
      expect(diffJob({ ...olds, status, resubmitOn: [status] }, { ...news(), resubmitOn: [status] })).toEqual({
        changes: true,
        replaces: ["status"],
      });
    }
    // another status, or a successful job: nothing to resubmit
    expect(
      diffJob({ ...olds, status: "FAILED", resubmitOn: ["CANCELLED"] }, { ...news(), resubmitOn: ["CANCELLED"] }),
    ).toEqual({ changes: false, replaces: [] });
    expect(
      diffJob({ ...olds, status: "SUCCESS", resubmitOn: ["FAILED"] }, { ...news(), resubmitOn: ["FAILED"] }),
    ).toEqual({ changes: false, replaces: [] });
    // adding resubmitOn after the job failed replaces on this very update
    expect(diffJob({ ...olds, status: "FAILED" }, { ...news(), resubmitOn: ["FAILED"] })).toEqual({
      changes: true,
      replaces: ["status"],
    });
    // a submission change already replaces: "status" is not added on top
    expect(diffJob({ ...olds, status: "FAILED" }, { ...news(), model: "other", resubmitOn: ["FAILED"] })).toEqual({
      changes: true,
      replaces: ["model"],
    });
  });
});

describe("waitPolicy", () => {
  it("null when not waiting; by default the job's timeoutHours plus a margin, the first poll after 1 s", () => {
    expect(waitPolicy(undefined)).toBeNull();
    expect(waitPolicy(false)).toBeNull();
    expect(WAIT_MARGIN_MINUTES).toBe(10);
    expect(waitPolicy(true)).toEqual({ timeoutMinutes: 24 * 60 + 10, pollIntervalSeconds: 1 });
    expect(waitPolicy({})).toEqual({ timeoutMinutes: 24 * 60 + 10, pollIntervalSeconds: 1 });
    expect(waitPolicy(true, DEFAULT_TIMEOUT_HOURS)).toEqual(waitPolicy(true));
  });

  it("follows the job's timeoutHours unless timeoutMinutes is set; partial objects filled in", () => {
    expect(waitPolicy(true, 1)).toEqual({ timeoutMinutes: 70, pollIntervalSeconds: 1 });
    expect(waitPolicy(true, 168)).toEqual({ timeoutMinutes: 168 * 60 + 10, pollIntervalSeconds: 1 });
    expect(waitPolicy({ pollIntervalSeconds: 0.02 }, 48)).toEqual({
      timeoutMinutes: 48 * 60 + 10,
      pollIntervalSeconds: 0.02,
    });
    expect(waitPolicy({ timeoutMinutes: 10 }, 168)).toEqual({ timeoutMinutes: 10, pollIntervalSeconds: 1 });
    expect(waitPolicy({ timeoutMinutes: 0.5, pollIntervalSeconds: 0.2 }, 2)).toEqual({
      timeoutMinutes: 0.5,
      pollIntervalSeconds: 0.2,
    });
  });

  it("a state without timeoutHours (undefined) takes the default 24 h", () => {
    expect(waitPolicy(true, undefined)).toEqual({ timeoutMinutes: 24 * 60 + 10, pollIntervalSeconds: 1 });
  });
});

describe("progressLine and isFinal", () => {
  it("renders status, counts, percentage and failures", () => {
    expect(progressLine({ status: "RUNNING", totalRequests: 400, completedRequests: 120, failedRequests: 2 })).toBe(
      "RUNNING 120/400 (30%), 2 failed",
    );
    expect(progressLine({ status: "RUNNING", totalRequests: 3, completedRequests: 2, failedRequests: 0 })).toBe(
      "RUNNING 2/3 (66%)",
    );
    expect(progressLine({ status: "SUCCESS", totalRequests: 10, completedRequests: 10, failedRequests: 0 })).toBe(
      "SUCCESS 10/10 (100%)",
    );
    // a queued job may report total 0: no division by zero
    expect(progressLine({ status: "QUEUED", totalRequests: 0, completedRequests: 0, failedRequests: 0 })).toBe(
      "QUEUED 0/0",
    );
  });

  it("final statuses are exactly SUCCESS, FAILED, TIMEOUT_EXCEEDED, CANCELLED", () => {
    expect([...FINAL_STATUSES].sort()).toEqual(["CANCELLED", "FAILED", "SUCCESS", "TIMEOUT_EXCEEDED"]);
    for (const s of FINAL_STATUSES) expect(isFinal(s)).toBe(true);
    for (const s of ["QUEUED", "RUNNING", "CANCELLATION_REQUESTED", undefined, "success"])
      expect(isFinal(s)).toBe(false);
  });
});
