/**
 * The model check of a BatchJob's `check` (and so of every model of an Evaluation, through its BatchJobs): the model
 * exists in the workspace and serves the job's endpoint, according to Mistral's models API (`GET /v1/models`, the
 * SDK's standalone `modelsList`, which is `models.list()`), read once per provider context and kept (`configure`
 * keeps the context while the configuration stays the same, runtime.ts).
 *
 *  - Known model (an id or one of its `aliases`) that serves the endpoint (the capability of the contract's
 *    ENDPOINT_CAPABILITY; embeddings have none: existence only): fine.
 *  - Known model without the capability: a check failure naming the nearest models that have it.
 *  - Unknown model while the list was read: a check failure naming `model`, the value and the nearest models that
 *    serve the endpoint (edit distance), before anything is uploaded or spent.
 *  - A fine-tuned id (`ft:...`) the list lacks: a warning, not a failure. Fine-tuned models belong to a workspace
 *    and come and go with its fine-tuning jobs (archived, just created, shared): the list is not authoritative for
 *    them, and refusing one would leave no way to use a model the API accepts.
 *  - The list could not be read (no key at preview, 401, 404 of a server without the models API, a network
 *    failure, a timeout): a warning saying why, and the check goes on. It never blocks.
 *
 * `check` runs in the provider process after the engine's `configure` (the dynamic provider host deserializes a
 * provider and awaits its `configure` before its first `check`, also under `pulumi preview`), so the stack's key is
 * there; stack config is never unknown, and a missing key only downgrades the check to a warning.
 */
import { NO_RETRIES, unreachableOf } from "./client";
import type { ProviderContext } from "./context";
import { ENDPOINT_CAPABILITY, type ModelCapability } from "./api";
import { report } from "./log";
import { modelCacheFile, readModelCache, writeModelCache } from "./modelCache";
import type { ApiEndpoint } from "./requests";
import { show } from "./requests";

/** A model as the check needs it: its names and capability flags (snake_case, as the API and the contract name them). */
export interface ModelInfo {
  id: string;
  aliases: string[];
  capabilities: Partial<Record<ModelCapability, boolean>>;
  /** "base" or "fine-tuned". */
  type?: string;
}

/**
 * The models API's answer: the models (`cached`: from the copy on disk, modelCache.ts, not read now), or why they
 * could not be read.
 */
export type ModelCatalog = { models: ModelInfo[]; cached?: true } | { unavailable: string };

/** What the check says of a model. */
export type ModelVerdict =
  | { ok: true }
  | { ok: true; warning: string }
  | { ok: false; reason: string; nearest: string[] };

/** How many nearest models a message names. */
const NEAREST = 3;

/**
 * Edit distance (Levenshtein, with adjacent transpositions counted as one edit: the optimal string alignment
 * distance), case-insensitive. Pure.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  if (s === t) return 0;
  if (!s.length) return t.length;
  if (!t.length) return s.length;
  let prevPrev: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, (prevPrev[j - 2] ?? 0) + 1);
      row.push(d);
    }
    prevPrev = prev;
    prev = row;
  }
  return prev[t.length] ?? 0;
}

/** True when the model can serve the endpoint, as far as its flags tell (embeddings: any model). */
export function servesEndpoint(model: ModelInfo, endpoint: ApiEndpoint | undefined): boolean {
  const capability = endpoint ? ENDPOINT_CAPABILITY[endpoint] : null;
  return capability === null || model.capabilities[capability] === true;
}

/**
 * The names nearest to `name` among the models that serve `endpoint`, nearest first (ties by name), one per model
 * (its closest name: its id or an alias), at most `max`. Pure.
 */
export function nearestModels(
  name: string,
  models: readonly ModelInfo[],
  endpoint: ApiEndpoint | undefined,
  max = NEAREST,
): string[] {
  return models
    .filter((m) => servesEndpoint(m, endpoint))
    .map((m) => {
      const names = [m.id, ...m.aliases];
      const scored = names.map((n) => ({ n, d: editDistance(name, n) })).sort((a, b) => a.d - b.d);
      return scored[0] ?? { n: m.id, d: Number.POSITIVE_INFINITY };
    })
    .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
    .slice(0, max)
    .map((x) => x.n);
}

/** The model named `name`: by id, else by alias. */
export function findModel(name: string, models: readonly ModelInfo[]): ModelInfo | undefined {
  return models.find((m) => m.id === name) ?? models.find((m) => m.aliases.includes(name));
}

/**
 * What a model name resolves to in the models API: the dated version of its card (a name ending in `-YYMM`, e.g.
 * `mistral-small-latest` -> `mistral-small-2506`), the name itself when it is dated, else the card's id; null for a
 * name the list lacks. Pure.
 */
export function resolveModelName(models: readonly ModelInfo[], name: string): string | null {
  const card = findModel(name, models);
  if (!card) return null;
  const dated = (n: string) => /-\d{4}$/.test(n);
  if (dated(name)) return name;
  return [card.id, ...card.aliases].find(dated) ?? card.id;
}

/**
 * The model a name resolves to now (`resolveModelName`), from the context's catalogue (`live`: read now, not the copy
 * on disk); null when the models API could not be read or does not list it.
 */
export async function resolvedModelOf(ctx: ProviderContext, name: string, live = false): Promise<string | null> {
  const catalog = await (live ? liveModelCatalog(ctx) : modelCatalog(ctx));
  return "models" in catalog ? resolveModelName(catalog.models, name) : null;
}

/** The check of `model` for `endpoint` (undefined: existence only) against the models of the workspace. Pure. */
export function judgeModel(
  model: string,
  endpoint: ApiEndpoint | undefined,
  models: readonly ModelInfo[],
): ModelVerdict {
  const found = findModel(model, models);
  const serving = endpoint ? `that serves ${endpoint}` : "of this workspace";
  if (found) {
    if (servesEndpoint(found, endpoint)) return { ok: true };
    const capability = endpoint ? ENDPOINT_CAPABILITY[endpoint] : null;
    const nearest = nearestModels(model, models, endpoint);
    return {
      ok: false,
      nearest,
      reason: `model is ${show(model)}, which does not serve ${endpoint} (the models API does not give it the ${capability} capability); allowed: a model ${serving}${nearest.length ? `, e.g. ${nearest.join(", ")}` : " (none in this workspace)"}`,
    };
  }
  if (model.startsWith("ft:")) {
    const fineTuned = models.filter((m) => m.type === "fine-tuned" || m.id.startsWith("ft:"));
    const near = nearestModels(model, fineTuned, endpoint);
    return {
      ok: true,
      warning: `the fine-tuned model ${show(model)} is not in the models list of this workspace (GET /v1/models); it is not refused, as fine-tuned models come and go with their fine-tuning jobs, but Mistral refuses the job if it cannot use it${near.length ? ` (fine-tuned models listed: ${near.join(", ")})` : ""}`,
    };
  }
  const nearest = nearestModels(model, models, endpoint);
  return {
    ok: false,
    nearest,
    reason: `model is ${show(model)}, which is not a model of this workspace (GET /v1/models, ids and aliases); allowed: a model ${serving}${nearest.length ? `, nearest: ${nearest.join(", ")}` : " (the list has none)"}`,
  };
}

/** The catalogue of each context: the copy on disk if fresh, else the live one (`liveCatalogs`). */
const catalogs = new WeakMap<ProviderContext, Promise<ModelCatalog>>();
/** The live catalogue of each context, read once (also when the read failed: one try per provider process). */
const liveCatalogs = new WeakMap<ProviderContext, Promise<ModelCatalog>>();
/** The contexts whose catalogue is a copy from disk. */
const fromCopy = new WeakSet<ProviderContext>();

/** How long the check waits for the models API: preview must not hang on an unreachable server. */
const LIST_TIMEOUT_MS = 15_000;

/**
 * The models of the workspace: a copy on disk read minutes ago (modelCache.ts; `cached`), else read through the
 * SDK (`liveModelCatalog`). Once per context; never rejects.
 */
export function modelCatalog(ctx: ProviderContext): Promise<ModelCatalog> {
  return catalogs.get(ctx) ?? copyCatalog(ctx) ?? liveModelCatalog(ctx);
}

/**
 * True when the model check of this context reads the models from the copy on disk, needing no SDK (the copy
 * becomes the context's catalogue on the first call that finds it).
 */
export function modelsFromCopy(ctx: ProviderContext): boolean {
  if (!catalogs.has(ctx)) copyCatalog(ctx);
  return fromCopy.has(ctx);
}

/** The file of the copy of this context's server and key; none without usable settings or with the cache off. */
function cacheFileOf(ctx: ProviderContext): string | undefined {
  if (!ctx.ready()) return undefined;
  const { serverUrl, apiKey } = ctx.settings();
  return modelCacheFile(serverUrl, apiKey);
}

/** The copy on disk as this context's catalogue, when there is a fresh one and the context has none yet. */
function copyCatalog(ctx: ProviderContext): Promise<ModelCatalog> | undefined {
  const file = cacheFileOf(ctx);
  const models = file === undefined ? undefined : readModelCache(file);
  if (!models) return undefined;
  const catalog = Promise.resolve({ models, cached: true as const });
  catalogs.set(ctx, catalog);
  fromCopy.add(ctx);
  return catalog;
}

/** The models of the workspace read now through the SDK, once per context (and kept on disk); never rejects. */
export function liveModelCatalog(ctx: ProviderContext): Promise<ModelCatalog> {
  let catalog = liveCatalogs.get(ctx);
  if (!catalog) {
    catalog = readCatalog(ctx).then((read) => {
      const file = cacheFileOf(ctx);
      if ("models" in read && file !== undefined) writeModelCache(file, read.models);
      return read;
    });
    liveCatalogs.set(ctx, catalog);
    if (!catalogs.has(ctx)) catalogs.set(ctx, catalog);
  }
  return catalog;
}

async function readCatalog(ctx: ProviderContext): Promise<ModelCatalog> {
  try {
    // The SDK's standalone `modelsList` on its core client: the same request and errors as `client.models.list()`,
    // with less of the SDK to load before preview's first BatchJob check (client.ts, `mistralCore`).
    const { core, modelsList } = await ctx.core();
    const result = await modelsList(core, undefined, { retries: NO_RETRIES, timeoutMs: LIST_TIMEOUT_MS });
    if (!result.ok) throw result.error;
    const list = result.value;
    const models: ModelInfo[] = [];
    for (const card of list.data ?? []) {
      const c = card as {
        id?: unknown;
        aliases?: unknown;
        type?: unknown;
        capabilities?: Record<string, unknown>;
      };
      if (typeof c.id !== "string") continue; // a card of a kind the SDK does not know, without an id
      models.push({
        id: c.id,
        aliases: Array.isArray(c.aliases) ? c.aliases.filter((a): a is string => typeof a === "string") : [],
        type: typeof c.type === "string" ? c.type : undefined,
        capabilities: capabilitiesOf(c.capabilities ?? {}),
      });
    }
    return { models };
  } catch (error) {
    return { unavailable: ctx.redact(whyUnavailable(error)) };
  }
}

/** The SDK's camelCase flags (`completionChat`) as the contract's snake_case ones (`completion_chat`). */
function capabilitiesOf(flags: Record<string, unknown>): Partial<Record<ModelCapability, boolean>> {
  const out: Partial<Record<ModelCapability, boolean>> = {};
  for (const [k, v] of Object.entries(flags)) {
    if (typeof v === "boolean") out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as ModelCapability] = v;
  }
  return out;
}

function whyUnavailable(error: unknown): string {
  const e = error as { name?: string; statusCode?: unknown; message?: string; cause?: { message?: string } };
  if (e?.name === "SettingsError") return `no usable settings (${e.message})`;
  if (typeof e?.statusCode === "number") {
    const hint =
      e.statusCode === 401
        ? ": the API key was refused"
        : e.statusCode === 404
          ? ": the server has no models API"
          : e.statusCode === 403
            ? ": the key may not list models"
            : "";
    return `GET /v1/models answered HTTP ${e.statusCode}${hint}`;
  }
  // A refused connection: the SDK wraps our ServerUnreachableError, whose message already names the URL.
  const unreachable = unreachableOf(error);
  if (unreachable) return `GET /v1/models failed: ${unreachable.message}`;
  const cause = e?.cause?.message;
  const detail = cause && cause !== e.message ? `${e.message} (${cause})` : (e?.message ?? String(error));
  return `GET /v1/models failed: ${e?.name ? `${e.name}: ` : ""}${detail}`;
}

/**
 * The model check of a job's checked inputs, for `check`: a failure on `model`, or undefined (a warning reported
 * when the model could not be checked). Skipped for an agent job, an unknown (not yet computed) model, and a model
 * and endpoint unchanged from `olds`: a job that exists is not refused because its model was retired since.
 */
export async function checkJobModel(
  ctx: ProviderContext,
  olds: Record<string, unknown>,
  inputs: Record<string, unknown>,
  resource: string,
  isUnknown: (value: unknown) => boolean,
): Promise<{ property: string; reason: string } | undefined> {
  const model = inputs.model;
  if (typeof model !== "string" || model.trim() === "" || isUnknown(model)) return undefined;
  if (inputs.agentId !== undefined && inputs.agentId !== null) return undefined;
  const endpoint =
    typeof inputs.endpoint === "string" && !isUnknown(inputs.endpoint) ? (inputs.endpoint as ApiEndpoint) : undefined;
  if (olds.model === model && olds.endpoint === inputs.endpoint) return undefined;
  let catalog = await modelCatalog(ctx);
  if ("cached" in catalog) {
    // The copy on disk only lets a model pass: anything else is asked of the live list (modelCache.ts).
    const passed = judgeModel(model, endpoint, catalog.models);
    if (passed.ok && !("warning" in passed)) return undefined;
    catalog = await liveModelCatalog(ctx);
  }
  if ("unavailable" in catalog) {
    report(ctx, `warning: ${resource}: model ${show(model)} could not be checked: ${catalog.unavailable}`);
    return undefined;
  }
  const verdict = judgeModel(model, endpoint, catalog.models);
  if (!verdict.ok) return { property: "model", reason: verdict.reason };
  if ("warning" in verdict) report(ctx, `warning: ${resource}: ${verdict.warning}`);
  return undefined;
}
