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
}

export interface ConfigLike {
  get(key: string): string | undefined;
}

/** The values the stack config holds (blank counts as unset); none without a config (`configure` never called). */
function fromConfig(config: ConfigLike | undefined): { apiKey?: string; serverUrl?: string } {
  return config
    ? { apiKey: nonEmpty(config.get("mistral:apiKey")), serverUrl: nonEmpty(config.get("mistral:serverUrl")) }
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
  return {
    apiKey,
    serverUrl,
    sources: {
      apiKey: configured.apiKey ? "stack config mistral:apiKey" : "environment MISTRAL_API_KEY",
      serverUrl: configured.serverUrl
        ? "stack config mistral:serverUrl"
        : serverRaw
          ? "environment MISTRAL_SERVER_URL"
          : "default",
    },
  };
}

/** Accepts a URL or one of the names global, eu, us. */
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
  return value.replace(/\/+$/, "");
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
