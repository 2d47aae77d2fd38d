/**
 * Where the provider talks to and with which key: stack config first (`mistral:apiKey`, `mistral:serverUrl`),
 * then the environment (`MISTRAL_API_KEY`, `MISTRAL_SERVER_URL`). Pure functions of the config and environment
 * they are given: the provider's `configure` builds its context from them once (context.ts, runtime.ts). The key
 * lives only in that process's memory: it is never an input, an output, a log line or part of an error message.
 */

export const MISTRAL_SERVERS = {
  global: "https://api.mistral.ai",
  eu: "https://api.eu.mistral.ai",
  us: "https://api.us.mistral.ai",
} as const;

export interface Settings {
  readonly apiKey: string;
  readonly serverUrl: string;
  /** Where each value came from, for messages. */
  readonly sources: { readonly apiKey: string; readonly serverUrl: string };
  /** Jobs `BatchJob` looks through for an earlier submission before giving up (`mistral:jobLookupMaxJobs`); absent: 10,000. */
  readonly jobLookupMaxJobs?: number;
  /** What was corrected in the configuration (a server URL ending in `/v1`), to report once; absent when nothing. */
  readonly warnings?: readonly string[];
}

export interface ConfigLike {
  get(key: string): string | undefined;
}

/** The values the stack config holds (blank counts as unset); none without a config (`configure` never called). */
function fromConfig(config: ConfigLike | undefined): {
  apiKey?: string;
  serverUrl?: string;
  jobLookupMaxJobs?: string;
} {
  return config
    ? {
        apiKey: nonEmpty(config.get("mistral:apiKey")),
        serverUrl: nonEmpty(config.get("mistral:serverUrl")),
        jobLookupMaxJobs: nonEmpty(config.get("mistral:jobLookupMaxJobs")),
      }
    : {};
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

export class SettingsError extends Error {
  override name = "SettingsError";
}

/**
 * The settings of a stack config (`configure`'s `req.config`; `undefined` when there is none) and an environment.
 * Throws one clear message when the key is missing. There is no silent fallback to the emulator: without
 * `serverUrl` the provider talks to Mistral itself.
 */
export function settingsFrom(config: ConfigLike | undefined, env: NodeJS.ProcessEnv = process.env): Settings {
  const configured = fromConfig(config);
  const apiKey = configured.apiKey ?? nonEmpty(env.MISTRAL_API_KEY);
  const serverRaw = configured.serverUrl ?? nonEmpty(env.MISTRAL_SERVER_URL);
  if (!apiKey) {
    throw new SettingsError(
      "No Mistral API key: set it as a secret in the stack config with `pulumi config set --secret mistral:apiKey <key>`, " +
        "or in the environment as MISTRAL_API_KEY. (For the offline emulator, any non-empty key works, together with " +
        "`pulumi config set mistral:serverUrl http://127.0.0.1:<port>`.)",
    );
  }
  const serverUrl = resolveServerUrl(serverRaw);
  const sourceOfUrl = configured.serverUrl
    ? "stack config mistral:serverUrl"
    : serverRaw
      ? "environment MISTRAL_SERVER_URL"
      : "default";
  const warning = serverRaw !== undefined ? apiVersionWarning(serverRaw, serverUrl, sourceOfUrl) : undefined;
  const lookupRaw = configured.jobLookupMaxJobs ?? nonEmpty(env.MISTRAL_JOB_LOOKUP_MAX_JOBS);
  const jobLookupMaxJobs = lookupRaw === undefined ? undefined : Number(lookupRaw);
  if (jobLookupMaxJobs !== undefined && !(Number.isInteger(jobLookupMaxJobs) && jobLookupMaxJobs > 0)) {
    throw new SettingsError(
      `mistral:jobLookupMaxJobs (or MISTRAL_JOB_LOOKUP_MAX_JOBS) is ${JSON.stringify(lookupRaw)}; expected a whole number > 0`,
    );
  }
  return {
    apiKey,
    serverUrl,
    ...(jobLookupMaxJobs !== undefined ? { jobLookupMaxJobs } : {}),
    ...(warning ? { warnings: [warning] } : {}),
    sources: {
      apiKey: configured.apiKey ? "stack config mistral:apiKey" : "environment MISTRAL_API_KEY",
      serverUrl: sourceOfUrl,
    },
  };
}

/** A path ending in the API version, `/v1` or `/v1/`: the SDK appends `/v1/...` itself. */
const API_VERSION_SUFFIX = /\/v1\/*$/i;

/** The warning for a server URL given with the API version, which `resolveServerUrl` removed. */
function apiVersionWarning(raw: string, resolved: string, source: string): string | undefined {
  if (!API_VERSION_SUFFIX.test(raw.replace(/[?#].*$/, ""))) return undefined;
  return (
    `${source} is ${JSON.stringify(raw)}, which ends with /v1; the SDK adds /v1 itself, so the provider uses ` +
    `${resolved}. Set it without /v1 (e.g. https://api.mistral.ai) to silence this warning`
  );
}

/**
 * Accepts a URL or one of the names global, eu, us. A URL ending in `/v1` loses it (the SDK appends `/v1/...`,
 * so `https://api.mistral.ai/v1` would call `/v1/v1/files` and every call would answer 404, which read and refresh
 * take for "deleted"); `settingsFrom` reports the correction as a warning.
 */
export function resolveServerUrl(value: string | undefined): string {
  if (value === undefined) return MISTRAL_SERVERS.global;
  if (Object.hasOwn(MISTRAL_SERVERS, value)) return MISTRAL_SERVERS[value as keyof typeof MISTRAL_SERVERS];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingsError(
      `mistral:serverUrl (or MISTRAL_SERVER_URL) is ${JSON.stringify(value)}, which is not a URL; ` +
        `use an http(s) URL such as https://api.mistral.ai, or one of: ${Object.keys(MISTRAL_SERVERS).join(", ")}`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SettingsError(
      `mistral:serverUrl (or MISTRAL_SERVER_URL) is ${JSON.stringify(value)}, which is not an http(s) URL; ` +
        `use an http(s) URL such as https://api.mistral.ai, or one of: ${Object.keys(MISTRAL_SERVERS).join(", ")}`,
    );
  }
  return value.replace(/\/+$/, "").replace(API_VERSION_SUFFIX, "").replace(/\/+$/, "");
}

/** The key `settingsFrom` uses for this config and environment (also when the server URL is bad), for `redact`. */
export function apiKeyFrom(config: ConfigLike | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return fromConfig(config).apiKey ?? nonEmpty(env.MISTRAL_API_KEY);
}

/** Removes the API key from any text that leaves the process (messages, logs). */
export function redact(text: string, apiKey: string | undefined): string {
  if (!apiKey || apiKey.length < 4) return text;
  return text.split(apiKey).join("[redacted]");
}
