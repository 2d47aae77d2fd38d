/**
 * The `mistral-batch-emulator` command: usage, flag errors (exit 2), readiness line, auth, and clean shutdown.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SDKError } from "@mistralai/mistralai/models/errors";
import { checkedClient } from "../support/client";
import { assertBuilt, runCli, startCli, stopAllClis } from "../support/cli";

beforeAll(() => assertBuilt());
afterEach(async () => {
  await stopAllClis();
});

describe("usage and flag errors", () => {
  it("--help and -h print usage on stdout and exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await runCli([flag]);
      expect(r).toMatchObject({ code: 0, signal: null, stderr: "" });
      expect(r.stdout).toMatch(/^Usage: mistral-batch-emulator \[options\]/);
      for (const option of [
        "--host",
        "--port",
        "--api-key",
        "--data-dir",
        "--speed",
        "--requests-per-second",
        "--fault",
        "--log",
        "MISTRAL_EMULATOR_FAULTS",
      ]) {
        expect(r.stdout).toContain(option);
      }
    }
  });

  it.each([
    [["--speed", "warp"], /--speed must be one of instant, fast, demo, slow, received "warp"/],
    [["--speed", "toString"], /--speed must be one of .*received "toString"/],
    [["--port", "abc"], /--port must be a number >= 0, received "abc"/],
    [["--port", ""], /--port must be a number >= 0, received ""/],
    [["--port", "0x50"], /--port must be a number >= 0, received "0x50"/],
    [["--port", "70000"], /--port must be a whole number 0\.\.65535, received "70000"/],
    [["--port", "1.5"], /--port must be a whole number 0\.\.65535, received "1\.5"/],
    [["--requests-per-second", "0"], /--requests-per-second must be a number > 0 or "inf", received "0"/],
    [["--requests-per-second", "fast"], /--requests-per-second must be a number > 0 or "inf", received "fast"/],
    [["--queue-delay-ms=-5"], /--queue-delay-ms must be a number >= 0, received "-5"/],
    [["--queue-delay-ms", "inf"], /--queue-delay-ms must be a number >= 0, received "inf"/],
    [["--max-file-mb", "0"], /--max-file-mb must be a number >= 1, received "0"/],
    [["--fault", "bogus*2"], /--fault "bogus\*2" is not a valid fault spec: .*unknown kind "bogus"/],
    [
      ["--fault", "429*3", "--fault", "latency"],
      /--fault "latency" is not a valid fault spec: .*latency needs milliseconds/,
    ],
    [["--api-key", ""], /--api-key must not be empty/],
    [["--warp"], /Unknown option '--warp'/],
  ])("%j exits 2 naming the flag and the value", async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("Usage: mistral-batch-emulator");
  });

  it("a bad MISTRAL_EMULATOR_FAULTS exits 2 naming the variable", async () => {
    const r = await runCli(["--port", "0"], { MISTRAL_EMULATOR_FAULTS: "429*0" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MISTRAL_EMULATOR_FAULTS "429\*0" is not a valid fault spec: .*times "0"/);
  });
});

describe("serving", () => {
  it("prints its base URL when ready, then serves the API", async () => {
    const cli = await startCli(["--port", "0"]);
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:(\d+)$/);
    expect(Number(new URL(cli.url).port)).toBeGreaterThan(0);
    expect(cli.stdout()).toBe(`${cli.url}\n`);
    expect(cli.stderr()).toMatch(
      /serving Mistral's Files and Batch API at http:\/\/127\.0\.0\.1:\d+ \(data: .*, temporary; speed: instant; auth: none\)/,
    );
    expect(await (await fetch(`${cli.url}/__emulator/health`)).json()).toEqual({ ok: true });
    const c = checkedClient(cli.url);
    const job = await c.client.batch.jobs.create({
      requests: [{ customId: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    expect((await c.client.batch.jobs.get({ jobId: job.id })).status).toBe("SUCCESS");
    expect(c.violations).toEqual([]);
  });

  it("listens on the port it is given", async () => {
    const first = await startCli(["--port", "0"]);
    const port = new URL(first.url).port; // known free a moment ago
    first.proc.kill("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const cli = await startCli(["--port", port, "--speed", "demo"]);
    expect(cli.url).toBe(`http://127.0.0.1:${port}`);
    expect(cli.stderr()).toContain("speed: demo");
  });

  it("a port in use exits 1 with a one-line reason and leaves no temporary directory", async () => {
    const first = await startCli(["--port", "0"]);
    const port = new URL(first.url).port;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-cli-tmpdir-"));
    try {
      const r = await runCli(["--port", port], { TMPDIR: tmp });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim()).toBe(
        `mistral-batch-emulator: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      );
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("--api-key enforces a bearer token and never prints the key", async () => {
    const key = "sk-emulator-Secret-4417";
    const cli = await startCli(["--port", "0", "--api-key", key, "--log"]);
    expect(cli.stderr()).toContain("auth: bearer key required");
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, { authorization: key }];
    for (const headers of attempts) {
      const res = await fetch(`${cli.url}/v1/batch/jobs`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(key);
    }
    const wrong = await checkedClient(cli.url, "nope")
      .client.files.list()
      .catch((e) => e);
    expect(wrong).toBeInstanceOf(SDKError);
    expect((wrong as SDKError).statusCode).toBe(401);
    expect((await checkedClient(cli.url, key).client.files.list()).total).toBe(0);
    expect((await fetch(`${cli.url}/__emulator/faults`)).status).toBe(401); // admin routes too
    cli.proc.kill("SIGTERM");
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toContain("GET /v1/files"); // --log did log
    expect(cli.stdout()).not.toContain(key);
    expect(cli.stderr()).not.toContain(key);
  });

  it("MISTRAL_EMULATOR_API_KEY works like --api-key, also unprinted", async () => {
    const key = "env-Secret-9931";
    const cli = await startCli(["--port", "0"], { MISTRAL_EMULATOR_API_KEY: key });
    expect((await fetch(`${cli.url}/v1/files`)).status).toBe(401);
    expect((await fetch(`${cli.url}/v1/files`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    cli.proc.kill("SIGINT");
    await cli.exited;
    expect(cli.stdout() + cli.stderr()).not.toContain(key);
  });

  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s stops it with exit code 0 and removes its temporary data",
    async (signal) => {
      const cli = await startCli(["--port", "0"]);
      const dataDir = /data: (.*?), temporary/.exec(cli.stderr())![1];
      expect(fs.existsSync(dataDir)).toBe(true);
      cli.proc.kill(signal);
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(cli.stderr()).toContain(`${signal}, stopping`);
      expect(fs.existsSync(dataDir)).toBe(false);
      await expect(fetch(`${cli.url}/__emulator/health`)).rejects.toThrow();
    },
  );

  it("stops with exit code 0 while a job is running, and keeps --data-dir", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-cli-test-"));
    try {
      const cli = await startCli(["--port", "0", "--data-dir", dir, "--speed", "slow"]);
      const res = await fetch(`${cli.url}/v1/batch/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          requests: [{ body: { messages: [{ role: "user", content: "hi" }] } }],
          model: "mistral-small-latest",
          endpoint: "/v1/chat/completions",
        }),
      });
      expect(res.status).toBe(200);
      cli.proc.kill("SIGTERM");
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(fs.readdirSync(`${dir}/meta/jobs`)).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
