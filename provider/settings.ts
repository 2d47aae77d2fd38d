/**
 * Where the provider talks to and with which key: stack config first (`mistral:apiKey`, `mistral:serverUrl`),
 * then the environment (`MISTRAL_API_KEY`, `MISTRAL_SERVER_URL`). The key lives only in this process's memory:
 * it is never an input, an output, a log line or part of an error message.
 */

export const MISTRAL_SERVERS = {
  global: "https://api.mistral.ai",
  eu: "https://api.eu.mistral.ai",
  us: "https://api.us.mistral.ai",
} as const;

export interface Settings {
  apiKey: string;
  serverUrl: string;
  /** Where each value came from, for messages. */
  sources: { apiKey: string; serverUrl: string };
}

export interface ConfigLike {
  get(key: string): string | undefined;
}

let configured: { apiKey?: string; serverUrl?: string } = {};

/** Called by the provider's `configure` with the stack's configuration. */
export function configureFrom(config: ConfigLike): void {
  configured = {
    apiKey: nonEmpty(config.get("mistral:apiKey")),
    serverUrl: nonEmpty(config.get("mistral:serverUrl")),
  };
}

/** For tests: forget what `configure` set. */
export function resetConfiguration(): void {
  configured = {};
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

export class SettingsError extends Error {
  override name = "SettingsError";
}

/**
 * The settings in force. Throws one clear message when the key is missing. There is no silent fallback to the
 * emulator: without `serverUrl` the provider talks to Mistral itself.
 */
export function currentSettings(env: NodeJS.ProcessEnv = process.env): Settings {
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
      serverUrl: configured.serverUrl ? "stack config mistral:serverUrl" : serverRaw ? "environment MISTRAL_SERVER_URL" : "default",
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

/** Removes the API key from any text that leaves the process (messages, logs). */
export function redact(text: string, apiKey: string | undefined = configured.apiKey ?? nonEmpty(process.env.MISTRAL_API_KEY)): string {
  if (!apiKey || apiKey.length < 4) return text;
  return text.split(apiKey).join("[redacted]");
}
