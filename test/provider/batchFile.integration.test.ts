/**
 * BatchFile against the emulator: the provider methods Pulumi calls (check, create, read, update, delete), with
 * what they did checked in the emulator itself (the SDK and `/__emulator/stats`).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_FILE_BYTES, describeProblems, scanJsonlFile } from "../../provider/jsonl";
import {
  CHAT,
  MODEL,
  chatRequests,
  checkAndCreate,
  cleanup,
  configure,
  emulator,
  fileProvider,
  jsonlOf,
  sdk,
  stats,
  tempDir,
  thrown,
} from "./integration-harness";

afterEach(cleanup);

const sha = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

async function download(url: string, fileId: string): Promise<string> {
  return new Response(await sdk(url).files.download({ fileId })).text();
}

function writeJsonl(name: string, text: string): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, text);
  return file;
}

describe("BatchFile create", () => {
  it("uploads a source file under <prefix>-<sha16>.jsonl, with its bytes, line count and sha256", async () => {
    const e = await emulator();
    await configure(e.url);
    const text = jsonlOf(chatRequests(4));
    const source = writeJsonl("questions.jsonl", text);
    const p = fileProvider();

    const checked = await p.check({}, { source, endpoint: CHAT });
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).toMatchObject({
      source,
      purpose: "batch",
      filenamePrefix: "questions",
      sha256: sha(text),
      bytes: Buffer.byteLength(text),
      lineCount: 4,
    });

    const { id, outs } = await p.create(checked.inputs);
    expect(outs).toMatchObject({
      fileId: id,
      filename: `questions-${sha(text).slice(0, 16)}.jsonl`,
      bytes: Buffer.byteLength(text),
      lineCount: 4,
      sha256: sha(text),
      purpose: "batch",
      adopted: false,
    });
    const remote = await sdk(e.url).files.retrieve({ fileId: id });
    expect(remote).toMatchObject({
      id,
      filename: outs.filename,
      sizeBytes: Buffer.byteLength(text),
      numLines: 4,
      purpose: "batch",
      source: "upload",
    });
    expect(await download(e.url, id)).toBe(text);
    expect((await stats(e.url)).files).toBe(1);
  });

  it("adopts an earlier upload of the same content instead of uploading it twice", async () => {
    const e = await emulator();
    await configure(e.url);
    const source = writeJsonl("dataset.jsonl", jsonlOf(chatRequests(3)));
    const first = await checkAndCreate(fileProvider(), { source });
    const second = await checkAndCreate(fileProvider(), { source });
    expect(second.id).toBe(first.id);
    expect(second.outs).toMatchObject({
      adopted: true,
      fileId: first.id,
      filename: first.outs.filename,
      sha256: first.outs.sha256,
    });
    expect((await stats(e.url)).files).toBe(1);
  });

  it("uploads inline requests and JSONL content", async () => {
    const e = await emulator();
    await configure(e.url);
    const requests = chatRequests(2, "inline-");
    const fromRequests = await checkAndCreate(fileProvider(), { requests, filenamePrefix: "inline" });
    expect(await download(e.url, fromRequests.id)).toBe(jsonlOf(requests));
    expect(fromRequests.outs).toMatchObject({
      lineCount: 2,
      filename: `inline-${sha(jsonlOf(requests)).slice(0, 16)}.jsonl`,
    });

    const content = jsonlOf(chatRequests(5, "c-"));
    const fromContent = await checkAndCreate(fileProvider(), { content, endpoint: CHAT });
    expect(await download(e.url, fromContent.id)).toBe(content);
    expect(fromContent.outs).toMatchObject({
      lineCount: 5,
      bytes: Buffer.byteLength(content),
      filename: `batch-${sha(content).slice(0, 16)}.jsonl`,
    });
    expect((await stats(e.url)).files).toBe(2);
  });

  it("refuses to upload a file that changed on disk after check, and says so", async () => {
    const e = await emulator();
    await configure(e.url);
    const source = writeJsonl("moving.jsonl", jsonlOf(chatRequests(2)));
    const checked = await fileProvider().check({}, { source });
    expect(checked.failures).toEqual([]);
    fs.appendFileSync(source, jsonlOf(chatRequests(1, "late-")));
    const error = await thrown(() => fileProvider().create(checked.inputs));
    expect(error.message).toContain(source);
    expect(error.message).toMatch(/changed after it was checked/);
    expect(error.message).toMatch(/run the update again|pulumi up/);
    expect((await stats(e.url)).files).toBe(0);
  });

  it("a same-size edit after check is caught by the hash taken while uploading: the upload is deleted", async () => {
    const e = await emulator();
    await configure(e.url);
    const source = writeJsonl("same-size.jsonl", jsonlOf(chatRequests(2)));
    const checked = await fileProvider().check({}, { source });
    expect(checked.failures).toEqual([]);
    const text = fs.readFileSync(source, "utf8");
    fs.writeFileSync(source, text.replace("r0", "r9")); // same length, other content
    expect(fs.statSync(source).size).toBe(checked.inputs.bytes);
    const error = await thrown(() => fileProvider().create(checked.inputs));
    expect(error.message).toContain(source);
    expect(error.message).toMatch(
      /changed after it was checked .*as uploaded.*upload was deleted; run the update again/s,
    );
    expect((await stats(e.url)).files).toBe(0);
  });

  it("a change after check that also breaks the file is still reported as a change", async () => {
    const e = await emulator();
    await configure(e.url);
    const source = writeJsonl("emptied.jsonl", jsonlOf(chatRequests(2)));
    const checked = await fileProvider().check({}, { source });
    fs.writeFileSync(source, "");
    const error = await thrown(() => fileProvider().create(checked.inputs));
    expect(error.message).toMatch(new RegExp(`^BatchFile \\(${source}\\): the content changed after it was checked`));
    expect(error.message).toMatch(/holds no requests/);
    expect((await stats(e.url)).files).toBe(0);
  });

  it("a file removed after check: names the resource, the path and the fix (no bare ENOENT)", async () => {
    const e = await emulator();
    await configure(e.url);
    const source = writeJsonl("gone.jsonl", jsonlOf(chatRequests(2)));
    const checked = await fileProvider().check({}, { source });
    fs.rmSync(source);
    const error = await thrown(() => fileProvider().create(checked.inputs));
    expect(error.message).toMatch(
      /^BatchFile \(.*gone\.jsonl\): source ".*gone\.jsonl" cannot be read any more \(ENOENT/,
    );
    expect(error.message).toMatch(/Restore the file .* and run the update again/);
    expect((await stats(e.url)).files).toBe(0);
  });

  it("names the resource and the server's limit when the server refuses the upload as too large", async () => {
    const e = await emulator({ maxFileBytes: 200 });
    await configure(e.url);
    const error = await thrown(() => checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(4)) }));
    expect(error.message).toMatch(/BatchFile/);
    expect(error.message).toMatch(/files\.upload/);
    expect(error.message).toMatch(/413/);
    expect(error.message).toMatch(/too large/i);
    expect(error.message).toMatch(/The file is \d+ bytes: split it into smaller files/);
    expect((await stats(e.url)).files).toBe(0);
  });
});

describe("BatchFile check refuses bad inputs before anything is uploaded", () => {
  async function failures(news: Record<string, unknown>) {
    const e = await emulator();
    await configure(e.url);
    const checked = await fileProvider().check({}, news);
    expect((await stats(e.url)).files).toBe(0);
    return checked.failures ?? [];
  }

  it("a malformed JSONL line: names the file and the line", async () => {
    const good = jsonlOf(chatRequests(2));
    const source = writeJsonl("broken.jsonl", `${good}{"custom_id": "x", "body": {\n`);
    const f = await failures({ source });
    expect(f).toHaveLength(1);
    expect(f[0].property).toBe("source");
    expect(f[0].reason).toContain(`${source} line 3`);
    expect(f[0].reason).toMatch(/valid JSON/);
  });

  it("a duplicate custom_id: names both lines", async () => {
    const source = writeJsonl(
      "dupes.jsonl",
      jsonlOf([...chatRequests(2), { customId: "r0", body: { messages: [{ role: "user", content: "again" }] } }]),
    );
    const f = await failures({ source });
    expect(f[0].reason).toContain(`${source} line 3`);
    expect(f[0].reason).toMatch(/custom_id is "r0"/);
    expect(f[0].reason).toMatch(/line 1 has it already/);
  });

  it("a body that does not fit the endpoint: names the line, field and what is allowed", async () => {
    const content = jsonlOf([...chatRequests(1), { customId: "e1", body: { input: "embed me" } }]);
    const f = await failures({ content, endpoint: CHAT });
    expect(f[0].property).toBe("content");
    expect(f[0].reason).toMatch(/content line 2: body\.messages is missing; expected a non-empty array of messages/);
    // Inline requests are checked the same way.
    const g = await failures({ requests: [{ customId: "a", body: { prompt: "x" } }], endpoint: "/v1/embeddings" });
    expect(g[0].reason).toMatch(/requests line 1: body\.input is missing/);
  });

  it("a missing file: names the path, where it resolved from and what is expected", async () => {
    const missing = path.join(tempDir(), "nope.jsonl");
    const f = await failures({ source: missing });
    expect(f).toEqual([
      { property: "source", reason: expect.stringContaining(`source ${JSON.stringify(missing)} is not a file`) },
    ]);
    expect(f[0].reason).toMatch(/expected the path of a \.jsonl file/);
  });

  it("no source at all, or two of them", async () => {
    expect((await failures({}))[0].reason).toMatch(/set one of source .*, requests .* or content/);
    expect((await failures({ content: "{}", requests: chatRequests(1) }))[0].reason).toMatch(
      /set only one of source, requests and content; received requests and content/,
    );
  });

  it("a file over Mistral's 512 MB limit (the scan's limit, lowered: writing 512 MB is impractical in a test)", async () => {
    const source = writeJsonl("big.jsonl", jsonlOf(chatRequests(50)));
    const scan = await scanJsonlFile(source, { maxBytes: 1024 });
    const message = describeProblems(source, scan);
    expect(message).toContain(
      `${source}: size is ${fs.statSync(source).size} bytes; Mistral accepts files of at most 1024 bytes`,
    );
    expect(message).toMatch(/split it into several files/);
    expect(MAX_FILE_BYTES).toBe(512 * 1024 * 1024);
  });
});

describe("BatchFile read, update and delete", () => {
  it("read refreshes from the workspace and returns {} once the file is gone", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs } = await checkAndCreate(fileProvider(), {
      content: jsonlOf(chatRequests(3)),
      __provider: "SERIALIZED",
    });
    const read = await fileProvider().read(id, { ...outs, __provider: "SERIALIZED" });
    expect(read.id).toBe(id);
    expect(read.props).toMatchObject({
      fileId: id,
      filename: outs.filename,
      bytes: outs.bytes,
      lineCount: 3,
      sha256: outs.sha256,
      createdAt: outs.createdAt,
      purpose: "batch",
    });
    await sdk(e.url).files.delete({ fileId: id });
    expect(await fileProvider().read(id, outs)).toEqual({});
  });

  it("read with only an id (BatchFile.get) returns the remote file and inputs", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs } = await checkAndCreate(fileProvider(), {
      content: jsonlOf(chatRequests(2)),
      filenamePrefix: "adopted",
    });
    const read = await fileProvider().read(id, { __provider: "SERIALIZED" });
    expect(read.props).toMatchObject({
      fileId: id,
      filename: outs.filename,
      bytes: outs.bytes,
      lineCount: 2,
      purpose: "batch",
      filenamePrefix: "adopted",
    });
    expect(read.inputs).toMatchObject({ purpose: "batch", filenamePrefix: "adopted" });
  });

  it("update in place (endpoint only) keeps the file and its identity", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs, inputs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(2)) });
    const news = (await fileProvider().check(inputs, { content: inputs.content, endpoint: CHAT })).inputs;
    const diff = await fileProvider().diff(id, outs, news);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await fileProvider().update(id, outs, news);
    expect(updated.outs).toMatchObject({ fileId: id, sha256: outs.sha256, endpoint: CHAT });
    expect((await stats(e.url)).files).toBe(1);
    // Other content replaces.
    const other = (await fileProvider().check(inputs, { content: jsonlOf(chatRequests(3)) })).inputs;
    expect((await fileProvider().diff(id, outs, other)).replaces).toEqual(["content"]);
  });

  it("delete deletes the file, and deleting it again is fine", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(2)) });
    await fileProvider().delete(id, outs);
    expect((await stats(e.url)).files).toBe(0);
    await expect(sdk(e.url).files.retrieve({ fileId: id })).rejects.toMatchObject({ statusCode: 404 });
    await fileProvider().delete(id, outs);
  });

  it("delete while a job that has not ended uses the file: a clear error, and the file stays", async () => {
    const e = await emulator({ clock: "manual", speed: "demo" });
    await configure(e.url);
    const { id, outs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(2)) });
    const job = await sdk(e.url).batch.jobs.create({ inputFiles: [id], model: MODEL, endpoint: CHAT });
    const error = await thrown(() => fileProvider().delete(id, outs));
    expect(error.message).toContain(`BatchFile ${id}`);
    expect(error.message).toContain("files.delete");
    expect(error.message).toContain("409");
    expect(error.message).toContain(job.id);
    expect(error.message).toMatch(/destroy that BatchJob first/);
    expect((await sdk(e.url).files.retrieve({ fileId: id })).id).toBe(id);
  });
});
