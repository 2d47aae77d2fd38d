/**
 * Shared pieces of the provider integration tests: emulators started and closed per test, a provider runtime per
 * test (what `pulumi-mistral-batch/runtime` is for a provider process) configured the way Pulumi's dynamic provider
 * host does it (`configure({ config: { get } })`), an SDK client to look at what the emulator holds, and a capture
 * of everything the provider reports.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Mistral } from "@mistralai/mistralai";
import { startEmulator, type Emulator, type EmulatorOptions } from "mistral-batch-emulator";
import { createRuntime } from "../../provider/runtime";
import { setReporter } from "../../provider/log";
import { MODEL_CACHE_ENV } from "../../provider/modelCache";
import { testProfile } from "../support/profile";

// The model check's copy of the models list on disk (modelCache.ts) is keyed by server URL and key: an emulator on a
// reused port would hand one test the list of another. Off here; the tests of that cache name their own directory.
process.env[MODEL_CACHE_ENV] = "off";

// biome-ignore lint/suspicious/noExplicitAny: the integration tests read the provider's untyped outputs and admin-route bodies at any depth
export type Json = Record<string, any>;

export const CHAT = "/v1/chat/completions" as const;
export const MODEL = "mistral-small-latest";
export const TEST_KEY = "sk-test-key-0001";

const started: Emulator[] = [];
const tempDirs: string[] = [];
const ENV_KEYS = ["MISTRAL_API_KEY", "MISTRAL_SERVER_URL"] as const;
let savedEnv: Record<string, string | undefined> | null = null;
/** This test's provider process, as far as the runtime goes: nothing configured until `configure`. */
let runtime = createRuntime();

export async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  // The profile of this run (test/support/profile.ts) unless the test asks for one.
  const e = await startEmulator({ speed: "instant", profile: testProfile(), ...options });
  started.push(e);
  return e;
}

/** Configures the provider runtime as Pulumi's host does, with the stack config `mistral:apiKey` / `mistral:serverUrl`. */
export async function configure(url: string | undefined, apiKey: string | undefined = TEST_KEY): Promise<void> {
  const values: Record<string, string | undefined> = { "mistral:apiKey": apiKey, "mistral:serverUrl": url };
  await runtime.configure({ config: { get: (k: string) => values[k] } } as never);
}

/** Sets (or, with undefined, removes) MISTRAL_API_KEY / MISTRAL_SERVER_URL until `cleanup()`. */
export function setEnv(values: Partial<Record<(typeof ENV_KEYS)[number], string | undefined>>): void {
  if (!savedEnv) savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-provider-"));
  tempDirs.push(dir);
  return dir;
}

/** Another provider process, as far as the runtime goes: nothing configured, nothing kept from the last one. */
export function newRuntime(): void {
  runtime = createRuntime();
}

/** Closes every emulator, starts the next test with a new runtime, restores the environment and removes temporary directories. */
export async function cleanup(): Promise<void> {
  runtime = createRuntime();
  if (savedEnv) {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    savedEnv = null;
  }
  await Promise.all(started.splice(0).map((e) => e.close()));
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export const fileProvider = () =>
  runtime.provider("file") as Required<import("@pulumi/pulumi").dynamic.ResourceProvider>;
export const jobProvider = () => runtime.provider("job") as Required<import("@pulumi/pulumi").dynamic.ResourceProvider>;
export const resultsProvider = () =>
  runtime.provider("results") as Required<import("@pulumi/pulumi").dynamic.ResourceProvider>;

export const setProvider = () => runtime.provider("set") as Required<import("@pulumi/pulumi").dynamic.ResourceProvider>;

/** An SDK client to look at the emulator (no retries: what it shows is what is there). */
export function sdk(url: string, apiKey = TEST_KEY): Mistral {
  return new Mistral({ apiKey, serverURL: url });
}

export interface Stats {
  files: number;
  jobs: number;
  jobsByStatus: Record<string, number>;
}

export async function stats(url: string, apiKey?: string): Promise<Stats> {
  const res = await fetch(`${url}/__emulator/stats`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  if (!res.ok) throw new Error(`stats: HTTP ${res.status}`);
  return (await res.json()) as Stats;
}

export async function admin(
  url: string,
  method: string,
  route: string,
  body?: unknown,
  apiKey?: string,
): Promise<Json> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: {
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

export async function addFaults(url: string, spec: string): Promise<void> {
  await admin(url, "POST", "/__emulator/faults", JSON.stringify(spec));
}

/** `n` chat requests `{ customId, body }` with checkable questions. */
export function chatRequests(n: number, prefix = "r") {
  return Array.from({ length: n }, (_, i) => ({
    customId: `${prefix}${i}`,
    body: { messages: [{ role: "user", content: `What is ${i} + 1?` }] },
  }));
}

export function jsonlOf(requests: { customId: string; body: unknown }[]): string {
  return `${requests.map((r) => JSON.stringify({ custom_id: r.customId, body: r.body })).join("\n")}\n`;
}

/** Captures every line the provider reports until `restore()`. */
export function captureReports(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const previous = setReporter((line) => lines.push(line));
  return { lines, restore: () => setReporter(previous) };
}

/** Runs `fn` and returns what it threw (fails when it does not throw). */
export async function thrown(fn: () => Promise<unknown>): Promise<Error & Json> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Json;
  }
  throw new Error("expected the call to throw, and it returned");
}

/** Job inputs as `check` makes them, with a scope like BatchJob's constructor sets. */
export function jobArgs(extra: Json = {}): Json {
  return {
    requests: chatRequests(3),
    model: MODEL,
    scope: "proj/dev/answers",
    __provider: "SERIALIZED-PROVIDER",
    ...extra,
  };
}

/** `check` then `create`, as the engine does; fails on check failures. */
export async function checkAndCreate(
  p: Required<import("@pulumi/pulumi").dynamic.ResourceProvider>,
  news: Json,
): Promise<{ id: string; outs: Json; inputs: Json }> {
  const checked = await p.check({}, news);
  if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
  const inputs = { ...checked.inputs, __provider: news.__provider };
  const created = await p.create(inputs);
  return { id: created.id, outs: created.outs as Json, inputs };
}
