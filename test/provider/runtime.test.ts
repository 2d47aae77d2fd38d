/**
 * The runtime's entry points (provider/runtime.ts), as the serialized providers call them: `configure(req)` builds
 * the process's context, possibly more than once; `provider(kind)` answers with the provider of the context in
 * force. No network: only settings failures, which come before any request.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ProviderContext } from "../../provider/context";
import * as runtimeModule from "../../provider/runtime";
import { setReporter } from "../../provider/log";
import { createRuntime, unknownKindMessage } from "../../provider/runtime";
import * as fileEntry from "../../provider/entry/file";
import * as jobEntry from "../../provider/entry/job";
import * as resultsEntry from "../../provider/entry/results";
import * as setEntry from "../../provider/entry/set";
import { PROVIDER_KINDS, entryPoints, thinProvider } from "../../provider/thin";

const KEY = "sk-test-runtime-0123456789";
const configOf = (values: Record<string, string | undefined>) =>
  ({ config: { get: (k: string) => values[k] } }) as never;
const read = (rt: ReturnType<typeof createRuntime>) =>
  rt.provider("file").read!("00000000-0000-4000-8000-000000000000", {});

describe("createRuntime", () => {
  it("without configure, the environment as it is at each call", async () => {
    const env: NodeJS.ProcessEnv = {};
    const rt = createRuntime(env);
    await expect(read(rt)).rejects.toThrow(/No Mistral API key/);
    env.MISTRAL_API_KEY = KEY;
    env.MISTRAL_SERVER_URL = "not a url";
    await expect(read(rt)).rejects.toThrow(/MISTRAL_SERVER_URL\) is "not a url", which is not a URL/);
  });

  it("configure builds the context once, from the stack config then the environment; a later configure replaces it", async () => {
    const env: NodeJS.ProcessEnv = { MISTRAL_API_KEY: KEY };
    const rt = createRuntime(env);
    const file = rt.provider("file");
    await rt.configure(configOf({ "mistral:serverUrl": "ftp://files.example.com" }));
    // Read at configure: a later change of the environment changes nothing.
    delete env.MISTRAL_API_KEY;
    const error = (await read(rt).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/"ftp:\/\/files\.example\.com", which is not an http\(s\) URL/);
    expect(error.message).not.toContain(KEY);
    await rt.configure(configOf({}));
    await expect(read(rt)).rejects.toThrow(/No Mistral API key/);
    // The same provider object before and after: it follows the configuration in force.
    expect(rt.provider("file")).toBe(file);
    await expect(file.read!("x", {})).rejects.toThrow(/No Mistral API key/);
  });

  it("check needs no key", async () => {
    const rt = createRuntime({});
    await rt.configure(configOf({}));
    const checked = await rt.provider("results").check!({}, { jobId: "j", status: "QUEUED", directory: "out" });
    expect(checked.failures).toEqual([]);
  });

  it("an unknown kind (one another release wrote): delete is a no-op with a warning, the rest fail naming the allowed kinds", async () => {
    const rt = createRuntime({});
    const lines: string[] = [];
    const previous = setReporter((line) => lines.push(line));
    try {
      for (const kind of ["nope", "toString", "__proto__"]) {
        const p = rt.provider(kind as never);
        const message = `pulumi-mistral-batch/runtime: no provider for resource kind ${JSON.stringify(kind)}; allowed: file, job, results, set`;
        expect(unknownKindMessage(kind)).toContain(message);
        await expect(p.check!({}, {})).rejects.toThrow(message);
        await expect(p.diff!("id", {}, {})).rejects.toThrow(message);
        await expect(p.create({})).rejects.toThrow(message);
        await expect(p.read!("id", {})).rejects.toThrow(message);
        await expect(p.update!("id", {}, {})).rejects.toThrow(message);
        await expect(p.delete!("id-1", { anything: 1 })).resolves.toBeUndefined();
        expect(lines.pop()).toContain(
          `warning: resource "id-1" of kind ${JSON.stringify(kind)} is unknown to this version; it is removed from state only`,
        );
      }
    } finally {
      setReporter(previous);
    }
  });
});

describe("the module's entry points", () => {
  it("keep the signatures the serialized providers call: configure(req) and provider(kind)", async () => {
    expect(typeof runtimeModule.configure).toBe("function");
    expect(runtimeModule.configure.length).toBe(1);
    expect(runtimeModule.provider.length).toBe(1);
    const p = runtimeModule.provider("job");
    for (const m of ["check", "diff", "create", "read", "update", "delete"] as const)
      expect(typeof p[m]).toBe("function");
    expect(runtimeModule.provider("job")).toBe(p);
  });
});

describe("ProviderContext.sameAs: what lets a later configure keep the context (its client and models list)", () => {
  const ctx = (values: Record<string, string | undefined>, env: NodeJS.ProcessEnv = {}) =>
    ProviderContext.fromConfig({ get: (k: string) => values[k] }, env);

  it("the same configuration, read again, is the same; any difference is not", () => {
    const base = { "mistral:apiKey": KEY, "mistral:serverUrl": "http://127.0.0.1:1234" };
    expect(ctx(base).sameAs(ctx(base))).toBe(true);
    // The same values from the environment: other sources, so other messages.
    expect(ctx(base).sameAs(ctx({}, { MISTRAL_API_KEY: KEY, MISTRAL_SERVER_URL: "http://127.0.0.1:1234" }))).toBe(
      false,
    );
    expect(ctx(base).sameAs(ctx({ ...base, "mistral:apiKey": `${KEY}x` }))).toBe(false);
    expect(ctx(base).sameAs(ctx({ ...base, "mistral:serverUrl": "http://127.0.0.1:1235" }))).toBe(false);
    expect(ctx(base).sameAs(ctx({ ...base, "mistral:jobLookupMaxJobs": "5" }))).toBe(false);
    expect(ctx(base).sameAs(ctx({ ...base, "mistral:serverUrl": "http://127.0.0.1:1234/v1" }))).toBe(false);
    // Without usable settings: the same problem with the same key.
    expect(ctx({}).sameAs(ctx({}))).toBe(true);
    expect(ctx({}).sameAs(ctx(base))).toBe(false);
    expect(ctx({ ...base, "mistral:serverUrl": "nope" }).sameAs(ctx({ ...base, "mistral:serverUrl": "nope" }))).toBe(
      true,
    );
    expect(ctx({ ...base, "mistral:serverUrl": "nope" }).sameAs(ctx({ ...base, "mistral:serverUrl": "nada" }))).toBe(
      false,
    );
    expect(ctx(base).ready()).toBe(true);
    expect(ctx({}).ready()).toBe(false);
  });
});

describe("the thin providers (thin.ts): what Pulumi serializes as __provider", () => {
  it("are the exports of pulumi-mistral-batch/runtime/<kind>: the seven methods, one object per kind", async () => {
    for (const kind of PROVIDER_KINDS) {
      const p = thinProvider(kind);
      expect(p).toBe({ file: fileEntry, job: jobEntry, results: resultsEntry, set: setEntry }[kind]);
      expect(thinProvider(kind)).toBe(p);
      const methods = Object.entries(p)
        .filter(([, v]) => typeof v === "function")
        .map(([k]) => k);
      expect(methods.sort()).toEqual(["check", "configure", "create", "delete", "diff", "read", "update"]);
    }
    expect(new Set(PROVIDER_KINDS.map((k) => thinProvider(k))).size).toBe(4);
    expect(() => thinProvider("nope" as never)).toThrow(
      'thinProvider: kind is "nope"; allowed: file, job, results, set',
    );
  });

  it("hold no key, client or context: their methods name only the runtime entry point and the kind", async () => {
    // A key configured in this process (the runtime of the sources) must not be reachable from them.
    await runtimeModule.configure(configOf({ "mistral:apiKey": KEY }));
    for (const kind of PROVIDER_KINDS) {
      const p = entryPoints(kind);
      expect(inspect(p, { depth: 10, showHidden: true })).not.toContain(KEY);
      for (const [name, method] of Object.entries(p)) {
        const text = String(method);
        expect(text, name).not.toContain(KEY);
        expect(text, name).toMatch(/^\(\w+(, \w+)*\) => load\(\)\.(configure\(req\)|provider\(kind\)\.\w+\()/);
      }
    }
  });
});
