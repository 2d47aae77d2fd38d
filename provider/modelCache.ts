/**
 * A short-lived copy on disk of the models list the model check reads (models.ts), so that `pulumi preview` and the
 * `pulumi up` after it (each a new provider process) read `GET /v1/models` once, and a check that finds its model in
 * the copy needs no SDK at all: loading the SDK costs about a second of CPU, most of a small preview's provider.
 *
 * An entry is one JSON file per server and key, named by a SHA-256 of both (the key itself is never written), kept
 * `MODEL_CACHE_TTL_MS` in `node_modules/.cache/pulumi-mistral-batch/models` of the program's directory (or
 * `$XDG_CACHE_HOME`, `~/.cache`; `PULUMI_MISTRAL_BATCH_MODEL_CACHE` names another directory, or `off`), written only
 * by the owner (mode 0600). The copy only ever lets a check pass: a model it lacks, or finds without the endpoint's
 * capability, or a fine-tuned model (which come and go), is looked up again in the live list before the check says
 * anything. So a model added since is never refused; one removed in the last minutes passes the check, and Mistral
 * refuses the job at submission with its own message. A cache that cannot be read or written is no error.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ModelInfo } from "./models";
import { cacheDir } from "./scanCache";

/** How long a copy of the list is used: a preview and the `up` that follows it, not a day of changes. */
export const MODEL_CACHE_TTL_MS = 10 * 60_000;

/** The environment variable naming the cache's directory, or `off`. */
export const MODEL_CACHE_ENV = "PULUMI_MISTRAL_BATCH_MODEL_CACHE";

/** The shape of an entry; raise it when it changes meaning. */
const FORMAT = 1;

interface Entry {
  format: number;
  /** When the list was read, ms since the epoch. */
  readAt: number;
  models: ModelInfo[];
}

/** The file of the copy for this server and key, or undefined when the cache is off. */
export function modelCacheFile(
  serverUrl: string,
  apiKey: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string | undefined {
  const dir = cacheDir("models", MODEL_CACHE_ENV, env, cwd);
  if (!dir) return undefined;
  const name = createHash("sha256").update(`models\0${FORMAT}\0${serverUrl}\0${apiKey}`).digest("hex").slice(0, 32);
  return path.join(dir, `${name}.json`);
}

/** The models of the copy in `file` read less than `MODEL_CACHE_TTL_MS` before `now`, else undefined. Never throws. */
export function readModelCache(file: string, now: number = Date.now()): ModelInfo[] | undefined {
  try {
    const entry = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Entry>;
    if (entry.format !== FORMAT || typeof entry.readAt !== "number" || !Array.isArray(entry.models)) return undefined;
    // A copy from the future (a clock set back) is as doubtful as an old one.
    if (entry.readAt > now || now - entry.readAt >= MODEL_CACHE_TTL_MS) return undefined;
    return entry.models.filter(
      (m): m is ModelInfo =>
        typeof m?.id === "string" && Array.isArray(m.aliases) && typeof m.capabilities === "object",
    );
  } catch {
    return undefined; // none, unreadable or corrupt: the live list is read
  }
}

/** Writes the copy (tmp file and rename, so a reader never sees half of it). Never throws: false when it could not. */
export function writeModelCache(file: string, models: ModelInfo[], now: number = Date.now()): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const entry: Entry = { format: FORMAT, readAt: now, models };
    fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the directory itself is not there or not writable: there is no tmp file to remove
    }
    return false;
  }
}
