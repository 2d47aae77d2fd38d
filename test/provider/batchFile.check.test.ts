/**
 * BatchFile's offline decisions (provider/batchFile.ts check/diff, requestsToJsonl; provider/upload.ts
 * contentFilename): no network, local temp files only.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BatchFileProvider,
  requestsToJsonl,
  type BatchFileInputs,
  type BatchFileOutputs,
} from "../../provider/batchFile";
import { ProviderContext } from "../../provider/context";
import { scanJsonlText } from "../../provider/jsonl";
import { UNKNOWN } from "../../provider/unknown";
import { contentFilename } from "../../provider/upload";

const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const req = (id: string, body: Record<string, unknown> = { messages: [{ role: "user", content: `Q ${id}` }] }) =>
  JSON.stringify({ custom_id: id, body });
const GOOD = `${[req("a"), req("b"), "", req("c")].join("\n")}\n`;

// No key, no server: check and diff never talk to Mistral.
const provider = new BatchFileProvider(ProviderContext.fromConfig(undefined, {}));
/**
 * The inputs Pulumi hands `check`, deliberately untyped: these tests pass wrong types, nulls and unknowns on purpose
 * to see them refused or deferred, which `BatchFileInputs` (the checked shape) cannot express.
 */
const rawInputs = (news: Record<string, unknown>) => news as unknown as BatchFileInputs;
/** `provider.check`, whose result always carries both `inputs` and `failures` (optional in Pulumi's `CheckResult`). */
const check = async (
  news: Record<string, unknown>,
): Promise<{ inputs: BatchFileInputs; failures: pulumi.dynamic.CheckFailure[] }> => {
  // olds: check ignores them
  const { inputs, failures } = await provider.check(rawInputs({}), rawInputs(news));
  if (inputs === undefined || failures === undefined)
    throw new Error(`check returned ${JSON.stringify({ inputs, failures })}: expected both inputs and failures`);
  return { inputs, failures };
};
/** Outputs as create would store them, from checked inputs. */
const outputsOf = (inputs: BatchFileInputs): BatchFileOutputs => ({
  ...inputs,
  fileId: "3f0e1c2a-9b8d-4c7e-a6f5-0123456789ab",
  filename: contentFilename(inputs.filenamePrefix, inputs.sha256!),
  bytes: inputs.bytes!,
  lineCount: inputs.lineCount!,
  sha256: inputs.sha256!,
  createdAt: 1_790_000_000,
  adopted: false,
});

let dir: string;
const write = (rel: string, text: string) => {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "batchfile-check-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("check: which content", () => {
  it("none of source, requests, content: one failure naming all three", async () => {
    const { failures } = await check({});
    expect(failures).toEqual([
      { property: "source", reason: "set one of source (a .jsonl path), requests (inline) or content (JSONL text)" },
    ]);
    expect((await check({ source: null, content: null })).failures).toHaveLength(1);
  });

  it("two or three of them: refused, naming what was received", async () => {
    const file = write("one.jsonl", GOOD);
    expect((await check({ source: file, requests: [{ customId: "a", body: {} }] })).failures).toEqual([
      { property: "requests", reason: "set only one of source, requests and content; received source and requests" },
    ]);
    expect((await check({ requests: [], content: GOOD })).failures).toEqual([
      { property: "content", reason: "set only one of source, requests and content; received requests and content" },
    ]);
    const three = await check({ source: file, requests: [], content: GOOD });
    expect(three.failures).toHaveLength(1);
    expect(three.failures[0]!.reason).toMatch(/received source and requests and content/);
    expect(three.inputs.sha256).toBeUndefined();
  });
});

describe("check: wrong types are failures naming the field, not crashes", () => {
  it.each([
    [{ source: 5 }, "source", "source is 5; expected the path of a .jsonl file (a string)"],
    [{ source: ["a.jsonl"] }, "source", 'source is ["a.jsonl"]; expected the path of a .jsonl file (a string)'],
    [{ content: 5 }, "content", "content is 5; expected JSONL text (a string)"],
    [{ content: { a: 1 } }, "content", 'content is {"a":1}; expected JSONL text (a string)'],
    [{ requests: "x" }, "requests", 'requests is "x"; expected a list of { customId, body }'],
    [
      { requests: [{ customId: "a", body: {} }, null] },
      "requests",
      'requests is [{"customId":"a","body":{}},null]; expected a list of { customId, body }',
    ],
    [{ requests: ["x"] }, "requests", 'requests is ["x"]; expected a list of { customId, body }'],
    [{ content: "{}", filenamePrefix: 5 }, "filenamePrefix", "filenamePrefix is 5; expected a string"],
  ])("%j", async (news, property, reason) => {
    const { failures } = await check(news);
    expect(failures).toEqual([{ property, reason }]);
  });
});

describe("check: source file", () => {
  it("a clean file: identity filled in from its bytes, purpose and filenamePrefix defaulted", async () => {
    const file = write("data/questions.jsonl", GOOD);
    const { inputs, failures } = await check({ source: file });
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({
      source: file,
      purpose: "batch",
      filenamePrefix: "questions",
      sha256: sha(fs.readFileSync(file)),
      bytes: Buffer.byteLength(GOOD),
      lineCount: 3,
    });
  });

  it("filenamePrefix: from the source name (any .jsonl case), else kept as given", async () => {
    expect((await check({ source: write("Eval Set.JSONL", GOOD) })).inputs.filenamePrefix).toBe("Eval Set");
    expect((await check({ source: write("plain.txt", GOOD) })).inputs.filenamePrefix).toBe("plain.txt");
    expect((await check({ source: write("q.jsonl", GOOD), filenamePrefix: "evals" })).inputs.filenamePrefix).toBe(
      "evals",
    );
  });

  it("a relative source resolves from the working directory", async () => {
    write("rel/questions.jsonl", GOOD);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const { inputs, failures } = await check({ source: "rel/questions.jsonl" });
      expect(failures).toEqual([]);
      expect(inputs.sha256).toBe(sha(GOOD));
      expect(inputs.filenamePrefix).toBe("questions");
    } finally {
      process.chdir(cwd);
    }
  });

  it("a missing source: names the path given, the resolved path and the directory", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const { inputs, failures } = await check({ source: "data/missing.jsonl" });
      const resolved = path.join(fs.realpathSync(dir), "data/missing.jsonl");
      expect(failures).toHaveLength(1);
      expect(failures[0]!.property).toBe("source");
      expect(failures[0]!.reason).toContain('source "data/missing.jsonl" is not a file');
      expect(failures[0]!.reason).toContain(`resolved to ${path.resolve("data/missing.jsonl")}`);
      expect(path.resolve("data/missing.jsonl")).toBe(resolved);
      expect(failures[0]!.reason).toContain(`from ${process.cwd()}`);
      expect(failures[0]!.reason).toMatch(/expected the path of a \.jsonl file/);
      expect(inputs.sha256).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it("a directory is not a file", async () => {
    fs.mkdirSync(path.join(dir, "adir.jsonl"), { recursive: true });
    const { failures } = await check({ source: path.join(dir, "adir.jsonl") });
    expect(failures).toMatchObject([{ property: "source", reason: expect.stringMatching(/is not a file/) }]);
  });

  it("a bad file: every problem listed with the source and line numbers, no identity", async () => {
    const file = write("bad.jsonl", [req("a"), "{oops", req("a"), '{"custom_id":"x","body":{"input":"t"}}'].join("\n"));
    const { inputs, failures } = await check({ source: file, endpoint: "/v1/chat/completions" });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.property).toBe("source");
    const lines = failures[0]!.reason.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${escapeRegExp(file)} line 2: \\(line\\) is "\\{oops"; expected valid JSON`));
    expect(lines[1]).toBe(
      `${file} line 3: custom_id is "a"; expected an id unique in the file (line 1 has it already)`,
    );
    expect(lines[2]).toMatch(
      new RegExp(`^${escapeRegExp(file)} line 4: body\\.messages is missing; expected a non-empty array of messages`),
    );
    expect(inputs.sha256).toBeUndefined();
    expect(inputs.bytes).toBeUndefined();
    expect(inputs.lineCount).toBeUndefined();
  });

  it("an empty file is refused", async () => {
    const { failures } = await check({ source: write("empty.jsonl", "\n\n") });
    expect(failures).toMatchObject([
      { property: "source", reason: expect.stringMatching(/empty\.jsonl: holds no requests/) },
    ]);
  });

  it("bodies are checked for the endpoint only for purpose batch", async () => {
    const file = write("emb.jsonl", `${req("a", { input: "text" })}\n`);
    expect((await check({ source: file })).failures).toEqual([]);
    expect((await check({ source: file, endpoint: "/v1/embeddings" })).failures).toEqual([]);
    expect((await check({ source: file, endpoint: "/v1/chat/completions" })).failures).toMatchObject([
      { property: "source" },
    ]);
    expect((await check({ source: file, endpoint: "/v1/chat/completions", purpose: "fine-tune" })).failures).toEqual(
      [],
    );
  });

  it("purpose and endpoint not in their lists", async () => {
    const file = write("p.jsonl", GOOD);
    const { failures } = await check({ source: file, purpose: "training", endpoint: "/v1/chat" });
    expect(failures).toHaveLength(2);
    expect(failures[0]).toEqual({
      property: "purpose",
      reason: 'purpose is "training"; allowed: batch, fine-tune, ocr',
    });
    expect(failures[1]!.property).toBe("endpoint");
    expect(failures[1]!.reason).toMatch(
      /^endpoint is "\/v1\/chat"; allowed: \/v1\/chat\/completions, \/v1\/embeddings/,
    );
  });

  it("identity from an earlier check is never carried over", async () => {
    const file = write("carry.jsonl", GOOD);
    const { inputs } = await check({ source: file, sha256: "stale", bytes: 1, lineCount: 1 });
    expect(inputs.sha256).toBe(sha(GOOD));
    expect(inputs.bytes).toBe(Buffer.byteLength(GOOD));
    const unknown = await check({ source: UNKNOWN, sha256: "stale", bytes: 1, lineCount: 1 });
    expect(unknown.inputs.sha256).toBeUndefined();
    expect(unknown.inputs.bytes).toBeUndefined();
    expect(unknown.inputs.lineCount).toBeUndefined();
  });
});

describe("check: unknown values (preview)", () => {
  it("an unknown source: no identity and no failure", async () => {
    const { inputs, failures } = await check({ source: UNKNOWN });
    expect(failures).toEqual([]);
    expect(inputs.sha256).toBeUndefined();
    expect(inputs.source).toBe(UNKNOWN);
    // the default prefix comes from the source's name: not known yet either (not "batch")
    expect(inputs.filenamePrefix).toBe(UNKNOWN);
    expect((await check({ source: UNKNOWN, filenamePrefix: "q" })).inputs.filenamePrefix).toBe("q");
  });

  it("unknown content, unknown requests, or requests with an unknown part: no identity and no failure", async () => {
    for (const news of [
      { content: UNKNOWN },
      { requests: UNKNOWN },
      { requests: [{ customId: "a", body: { messages: UNKNOWN } }] },
      { requests: [{ customId: UNKNOWN, body: {} }] },
    ]) {
      const { inputs, failures } = await check(news);
      expect(failures, JSON.stringify(news)).toEqual([]);
      expect(inputs.sha256).toBeUndefined();
    }
  });

  it("unknown purpose or endpoint: no failure, content still scanned (envelope only)", async () => {
    const file = write("u.jsonl", `${req("a", { input: "x" })}\n`);
    const { inputs, failures } = await check({ source: file, purpose: UNKNOWN, endpoint: UNKNOWN });
    expect(failures).toEqual([]);
    expect(inputs.sha256).toBe(sha(fs.readFileSync(file)));
  });
});

describe("check: requests and content", () => {
  it("inline requests: identity of their JSONL; problems name 'requests' and the line", async () => {
    const requests = [
      { customId: "a", body: { messages: [{ role: "user", content: "hi" }] } },
      { customId: "b", body: { messages: [{ role: "user", content: "yo" }] } },
    ];
    const { inputs, failures } = await check({ requests });
    expect(failures).toEqual([]);
    expect(inputs.filenamePrefix).toBe("batch");
    expect(inputs.sha256).toBe(sha(requestsToJsonl(requests)));
    expect(inputs.lineCount).toBe(2);

    const dup = await check({ requests: [...requests, { customId: "a", body: {} }] });
    expect(dup.failures).toEqual([
      {
        property: "requests",
        reason: 'requests line 3: custom_id is "a"; expected an id unique in the file (line 1 has it already)',
      },
    ]);
  });

  it("content: identity of the text; problems name 'content'", async () => {
    const { inputs, failures } = await check({ content: GOOD, filenamePrefix: "mine" });
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({
      sha256: sha(GOOD),
      bytes: Buffer.byteLength(GOOD),
      lineCount: 3,
      filenamePrefix: "mine",
    });
    const bad = await check({ content: "" });
    expect(bad.failures).toEqual([
      { property: "content", reason: expect.stringMatching(/^content: holds no requests/) },
    ]);
  });
});

describe("diff", () => {
  it("moving the same content to another path changes nothing", async () => {
    const a = (await check({ source: write("v1/questions.jsonl", GOOD) })).inputs;
    const b = (await check({ source: write("v2/moved/questions.jsonl", GOOD) })).inputs;
    expect(b.source).not.toBe(a.source);
    expect(await provider.diff("id", outputsOf(a), b)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    // with an explicit prefix, a rename is no change either
    const c = (await check({ source: write("v1/q.jsonl", GOOD), filenamePrefix: "evals" })).inputs;
    const d = (await check({ source: write("v1/renamed.jsonl", GOOD), filenamePrefix: "evals" })).inputs;
    expect(await provider.diff("id", outputsOf(c), d)).toMatchObject({ changes: false, replaces: [] });
  });

  it("edited content replaces, naming source", async () => {
    const file = write("edit/q.jsonl", GOOD);
    const before = (await check({ source: file })).inputs;
    fs.appendFileSync(file, `${req("d")}\n`);
    const after = (await check({ source: file })).inputs;
    expect(after.sha256).not.toBe(before.sha256);
    expect(await provider.diff("id", outputsOf(before), after)).toEqual({
      changes: true,
      replaces: ["source"],
      deleteBeforeReplace: false,
    });
  });

  it("edited requests or content replace, naming them", async () => {
    const r1 = (await check({ requests: [{ customId: "a", body: { x: 1 } }] })).inputs;
    const r2 = (await check({ requests: [{ customId: "a", body: { x: 2 } }] })).inputs;
    expect((await provider.diff("id", outputsOf(r1), r2)).replaces).toEqual(["requests"]);
    const c1 = (await check({ content: GOOD })).inputs;
    const c2 = (await check({ content: `${GOOD + req("z")}\n` })).inputs;
    expect((await provider.diff("id", outputsOf(c1), c2)).replaces).toEqual(["content"]);
    // the same JSONL given as content instead of requests is the same file
    const asContent = (await check({ content: requestsToJsonl([{ customId: "a", body: { x: 1 } }]) })).inputs;
    expect(await provider.diff("id", outputsOf(r1), asContent)).toMatchObject({ changes: false, replaces: [] });
  });

  it("an endpoint change is a change without replacement", async () => {
    const file = write("ep/q.jsonl", GOOD);
    const before = (await check({ source: file })).inputs;
    const after = (await check({ source: file, endpoint: "/v1/chat/completions" })).inputs;
    expect(await provider.diff("id", outputsOf(before), after)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const back = (await check({ source: file })).inputs;
    expect(await provider.diff("id", outputsOf(after), back)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("a purpose change replaces, naming it; a filenamePrefix change alone changes nothing", async () => {
    const file = write("pp/q.jsonl", GOOD);
    const before = (await check({ source: file })).inputs;
    expect(
      (await provider.diff("id", outputsOf(before), (await check({ source: file, purpose: "fine-tune" })).inputs))
        .replaces,
    ).toEqual(["purpose"]);
    expect(
      await provider.diff("id", outputsOf(before), (await check({ source: file, filenamePrefix: "other" })).inputs),
    ).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("renaming the source file with the same content shows no change", async () => {
    const before = (await check({ source: write("rn/questions.jsonl", GOOD) })).inputs;
    const renamed = (await check({ source: write("rn/renamed-elsewhere.jsonl", GOOD) })).inputs;
    expect(renamed.filenamePrefix).toBe("renamed-elsewhere");
    expect(await provider.diff("id", outputsOf(before), renamed)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("an unknown sha256 (content not known yet) replaces", async () => {
    const before = (await check({ source: write("unk/q.jsonl", GOOD), filenamePrefix: "q" })).inputs;
    const olds = outputsOf(before);
    const unknownSource = (await check({ source: UNKNOWN, filenamePrefix: "q" })).inputs;
    expect(await provider.diff("id", olds, unknownSource)).toEqual({
      changes: true,
      replaces: ["source"],
      deleteBeforeReplace: false,
    });
    expect((await provider.diff("id", olds, { ...before, sha256: UNKNOWN })).replaces).toEqual(["source"]);
    expect(
      (await provider.diff("id", olds, (await check({ content: UNKNOWN, filenamePrefix: "q" })).inputs)).replaces,
    ).toEqual(["content"]);
    expect(
      (await provider.diff("id", olds, (await check({ requests: UNKNOWN, filenamePrefix: "q" })).inputs)).replaces,
    ).toEqual(["requests"]);
  });

  it("an unknown purpose replaces, naming it; an unknown prefix does not", async () => {
    const before = (await check({ source: write("unk2/q.jsonl", GOOD) })).inputs;
    expect((await provider.diff("id", outputsOf(before), { ...before, purpose: UNKNOWN })).replaces).toEqual([
      "purpose",
    ]);
    expect((await provider.diff("id", outputsOf(before), { ...before, filenamePrefix: UNKNOWN })).replaces).toEqual([]);
  });
});

describe("requestsToJsonl", () => {
  it("one {custom_id, body} line per request, newline-terminated, in order", () => {
    const requests = [
      { customId: "a", body: { messages: [{ role: "user", content: "line\nbreak" }] } },
      { customId: "b", body: { input: "x" } },
    ];
    const text = requestsToJsonl(requests);
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { custom_id: "a", body: requests[0]!.body },
      { custom_id: "b", body: requests[1]!.body },
    ]);
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(["custom_id", "body"]);
    expect(scanJsonlText(text)).toMatchObject({ requests: 2, problems: [] });
  });
});

describe("contentFilename", () => {
  const hash = sha("content");

  it("is <stem>-<16 hex of the sha256>.jsonl", () => {
    expect(contentFilename("questions", hash)).toBe(`questions-${hash.slice(0, 16)}.jsonl`);
    expect(contentFilename("questions.jsonl", hash)).toBe(`questions-${hash.slice(0, 16)}.jsonl`);
    expect(contentFilename("Q.JSONL", hash)).toBe(`Q-${hash.slice(0, 16)}.jsonl`);
  });

  it("replaces unsafe characters, cuts long stems, and never leaves the stem empty", () => {
    expect(contentFilename("my evals/v2 (draft)", hash)).toBe(`my_evals_v2_draft_-${hash.slice(0, 16)}.jsonl`);
    expect(contentFilename("ünï", hash)).toBe(`_n_-${hash.slice(0, 16)}.jsonl`);
    expect(contentFilename("x".repeat(200), hash)).toBe(`${"x".repeat(80)}-${hash.slice(0, 16)}.jsonl`);
    expect(contentFilename("", hash)).toBe(`batch-${hash.slice(0, 16)}.jsonl`);
    expect(contentFilename(".jsonl", hash)).toBe(`batch-${hash.slice(0, 16)}.jsonl`);
  });

  it("the hash can be read back from the name even when the stem has dashes", () => {
    const name = contentFilename("eval-set-2026-11", hash);
    expect(
      name
        .replace(/\.jsonl$/, "")
        .split("-")
        .pop(),
    ).toBe(hash.slice(0, 16));
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
