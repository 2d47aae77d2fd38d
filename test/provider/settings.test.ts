/**
 * Where the provider's key and server come from (provider/settings.ts, and the context `configure` builds from
 * them, provider/context.ts): stack config beats the environment, messages say how to fix a missing key or a bad
 * URL, and `redact` keeps the key out of any text.
 */
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProviderContext } from "../../provider/context";
import { MISTRAL_SERVERS, SettingsError, redact, resolveServerUrl, settingsFrom } from "../../provider/settings";
import { thrownMessage } from "../support/thrown";

const KEY_ENV = "env-key-0123456789abcdef";
const KEY_CONFIG = "cfg-key-fedcba9876543210";
const config = (values: Record<string, string | undefined>) => ({ get: (k: string) => values[k] });

let saved: { key?: string; url?: string };
beforeEach(() => {
  saved = { key: process.env.MISTRAL_API_KEY, url: process.env.MISTRAL_SERVER_URL };
  delete process.env.MISTRAL_API_KEY;
  delete process.env.MISTRAL_SERVER_URL;
});
afterEach(() => {
  for (const [name, value] of [
    ["MISTRAL_API_KEY", saved.key],
    ["MISTRAL_SERVER_URL", saved.url],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("settingsFrom", () => {
  it("uses the environment when the stack config has nothing", () => {
    const s = settingsFrom(config({}), { MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "http://127.0.0.1:4010" });
    expect(s).toEqual({
      apiKey: KEY_ENV,
      serverUrl: "http://127.0.0.1:4010",
      sources: { apiKey: "environment MISTRAL_API_KEY", serverUrl: "environment MISTRAL_SERVER_URL" },
    });
  });

  it("reads process.env by default", () => {
    process.env.MISTRAL_API_KEY = KEY_ENV;
    expect(settingsFrom(undefined).apiKey).toBe(KEY_ENV);
  });

  it("stack config beats the environment, for the key and the server", () => {
    const s = settingsFrom(config({ "mistral:apiKey": KEY_CONFIG, "mistral:serverUrl": "eu" }), {
      MISTRAL_API_KEY: KEY_ENV,
      MISTRAL_SERVER_URL: "http://127.0.0.1:4010",
    });
    expect(s.apiKey).toBe(KEY_CONFIG);
    expect(s.serverUrl).toBe("https://api.eu.mistral.ai");
    expect(s.sources).toEqual({ apiKey: "stack config mistral:apiKey", serverUrl: "stack config mistral:serverUrl" });
  });

  it("config and environment mix per setting; blank config values count as unset", () => {
    const s = settingsFrom(config({ "mistral:apiKey": "   ", "mistral:serverUrl": "us" }), {
      MISTRAL_API_KEY: KEY_ENV,
    });
    expect(s.apiKey).toBe(KEY_ENV);
    expect(s.serverUrl).toBe(MISTRAL_SERVERS.us);
    expect(s.sources).toEqual({ apiKey: "environment MISTRAL_API_KEY", serverUrl: "stack config mistral:serverUrl" });
  });

  it("trims whitespace around values (a key pasted with a newline)", () => {
    expect(settingsFrom(undefined, { MISTRAL_API_KEY: `  ${KEY_ENV}\n` }).apiKey).toBe(KEY_ENV);
    expect(settingsFrom(config({ "mistral:apiKey": `${KEY_CONFIG}\n` }), {}).apiKey).toBe(KEY_CONFIG);
  });

  it("defaults to Mistral's global server, never to an emulator", () => {
    const s = settingsFrom(undefined, { MISTRAL_API_KEY: KEY_ENV });
    expect(s.serverUrl).toBe("https://api.mistral.ai");
    expect(s.sources.serverUrl).toBe("default");
  });

  it("remembers nothing: the settings are those of the config and environment given", () => {
    expect(settingsFrom(config({ "mistral:apiKey": KEY_CONFIG }), {}).apiKey).toBe(KEY_CONFIG);
    expect(() => settingsFrom(undefined, {})).toThrow(SettingsError);
    expect(() => settingsFrom(config({}), {})).toThrow(SettingsError);
  });

  it("a missing key says how to set it, in config or environment, and shows no key", () => {
    let error: unknown;
    try {
      settingsFrom(undefined, { MISTRAL_API_KEY: "", MISTRAL_SERVER_URL: "http://127.0.0.1:4010" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    expect((error as Error).name).toBe("SettingsError");
    expect(message).toContain("pulumi config set --secret mistral:apiKey <key>");
    expect(message).toContain("MISTRAL_API_KEY");
    expect(message).toContain("mistral:serverUrl");
    expect(message).not.toContain(KEY_ENV);
    expect(message).not.toContain(KEY_CONFIG);
  });

  it("a bad server URL fails even when the key is fine", () => {
    expect(() => settingsFrom(undefined, { MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "not a url" })).toThrow(
      /"not a url", which is not a URL/,
    );
    // parses as a URL with protocol "localhost:": refused as not http(s), naming the environment variable too
    expect(() => settingsFrom(undefined, { MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "localhost:4010" })).toThrow(
      /MISTRAL_SERVER_URL\) is "localhost:4010", which is not an http\(s\) URL/,
    );
  });
});

describe("resolveServerUrl", () => {
  it("names global, eu and us", () => {
    expect(resolveServerUrl("global")).toBe("https://api.mistral.ai");
    expect(resolveServerUrl("eu")).toBe("https://api.eu.mistral.ai");
    expect(resolveServerUrl("us")).toBe("https://api.us.mistral.ai");
    expect(resolveServerUrl(undefined)).toBe("https://api.mistral.ai");
  });

  it("takes http and https URLs, trimming trailing slashes", () => {
    expect(resolveServerUrl("http://127.0.0.1:4010/")).toBe("http://127.0.0.1:4010");
    expect(resolveServerUrl("https://proxy.example.com/mistral//")).toBe("https://proxy.example.com/mistral");
    expect(resolveServerUrl("https://api.mistral.ai")).toBe("https://api.mistral.ai");
  });

  it("drops a trailing /v1 (the SDK appends /v1/...), and settingsFrom warns about it", () => {
    expect(resolveServerUrl("https://api.mistral.ai/v1")).toBe("https://api.mistral.ai");
    expect(resolveServerUrl("https://api.mistral.ai/v1/")).toBe("https://api.mistral.ai");
    expect(resolveServerUrl("http://127.0.0.1:4010/proxy/V1")).toBe("http://127.0.0.1:4010/proxy");
    expect(resolveServerUrl("https://proxy.example.com/v10")).toBe("https://proxy.example.com/v10");
    const config = { get: (k: string) => (k === "mistral:serverUrl" ? "https://api.mistral.ai/v1/" : undefined) };
    const s = settingsFrom(config, { MISTRAL_API_KEY: "sk-x-123456" });
    expect(s.serverUrl).toBe("https://api.mistral.ai");
    expect(s.warnings).toEqual([
      'stack config mistral:serverUrl is "https://api.mistral.ai/v1/", which ends with /v1; the SDK adds /v1 itself, so the provider uses https://api.mistral.ai. Set it without /v1 (e.g. https://api.mistral.ai) to silence this warning',
    ]);
    expect(settingsFrom(undefined, { MISTRAL_API_KEY: "sk-x-123456" })).not.toHaveProperty("warnings");
  });

  it("mistral:jobLookupMaxJobs (or MISTRAL_JOB_LOOKUP_MAX_JOBS): a whole number > 0", () => {
    const env = { MISTRAL_API_KEY: "sk-x-123456" };
    expect(
      settingsFrom({ get: (k) => (k === "mistral:jobLookupMaxJobs" ? "50000" : undefined) }, env).jobLookupMaxJobs,
    ).toBe(50_000);
    expect(settingsFrom(undefined, { ...env, MISTRAL_JOB_LOOKUP_MAX_JOBS: "200" }).jobLookupMaxJobs).toBe(200);
    expect(settingsFrom(undefined, env)).not.toHaveProperty("jobLookupMaxJobs");
    expect(() => settingsFrom(undefined, { ...env, MISTRAL_JOB_LOOKUP_MAX_JOBS: "lots" })).toThrow(
      /jobLookupMaxJobs \(or MISTRAL_JOB_LOOKUP_MAX_JOBS\) is "lots"; expected a whole number > 0/,
    );
  });

  it("a value that is not a URL: the message names the setting, the value and what is allowed", () => {
    let message = "";
    try {
      resolveServerUrl("api.mistral.ai");
    } catch (e) {
      expect(e).toBeInstanceOf(SettingsError);
      message = (e as Error).message;
    }
    expect(message).toContain("mistral:serverUrl");
    expect(message).toContain("MISTRAL_SERVER_URL");
    expect(message).toContain('"api.mistral.ai"');
    expect(message).toMatch(/http\(s\) URL/);
    expect(message).toContain("global, eu, us");
  });

  it("refuses URLs that are not http(s), naming the value", () => {
    expect(() => resolveServerUrl("ftp://files.example.com")).toThrow(SettingsError);
    expect(() => resolveServerUrl("ftp://files.example.com")).toThrow(
      /"ftp:\/\/files\.example\.com", which is not an http\(s\) URL; use .* one of: global, eu, us/,
    );
    expect(() => resolveServerUrl("file:///tmp/x")).toThrow(/http\(s\)/);
  });

  it("names are exact: inherited object properties and other spellings are not server names", () => {
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "EU", "Global"]) {
      expect(() => resolveServerUrl(name), name).toThrow(SettingsError);
    }
  });
});

describe("redact", () => {
  it("removes every occurrence of the given key", () => {
    const text = `Bearer ${KEY_ENV} failed; body echoed "${KEY_ENV}" and ${KEY_ENV}`;
    const out = redact(text, KEY_ENV);
    expect(out).not.toContain(KEY_ENV);
    expect(out).toBe('Bearer [redacted] failed; body echoed "[redacted]" and [redacted]');
  });

  it("a context redacts its configured key, else the environment's", () => {
    expect(ProviderContext.fromConfig(undefined, { MISTRAL_API_KEY: KEY_ENV }).redact(`x ${KEY_ENV} y`)).toBe(
      "x [redacted] y",
    );
    const configured = ProviderContext.fromConfig(config({ "mistral:apiKey": KEY_CONFIG }), {
      MISTRAL_API_KEY: KEY_ENV,
    });
    expect(configured.redact(`x ${KEY_CONFIG} y`)).toBe("x [redacted] y");
  });

  it("redacts the key in use when the environment holds it with surrounding whitespace", () => {
    process.env.MISTRAL_API_KEY = `${KEY_ENV}\n`;
    const ctx = ProviderContext.fromConfig(undefined);
    const inUse = ctx.settings().apiKey;
    expect(inUse).toBe(KEY_ENV);
    expect(ctx.redact(`Authorization: Bearer ${inUse}`)).toBe("Authorization: Bearer [redacted]");
  });

  it("leaves text alone without a key, and ignores keys too short to be real", () => {
    expect(redact("nothing to hide", undefined)).toBe("nothing to hide");
    expect(ProviderContext.fromConfig(undefined, {}).redact("nothing to hide")).toBe("nothing to hide");
    expect(redact("abc abc", "abc")).toBe("abc abc");
    expect(redact("", KEY_ENV)).toBe("");
  });
});

describe("ProviderContext", () => {
  it("holds the settings of the config and environment it was built from, read once", () => {
    const env: NodeJS.ProcessEnv = { MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "http://127.0.0.1:4010" };
    const ctx = ProviderContext.fromConfig(config({ "mistral:serverUrl": "eu" }), env);
    env.MISTRAL_API_KEY = "changed-later-0123456789";
    expect(ctx.settings()).toEqual({
      apiKey: KEY_ENV,
      serverUrl: MISTRAL_SERVERS.eu,
      sources: { apiKey: "environment MISTRAL_API_KEY", serverUrl: "stack config mistral:serverUrl" },
    });
    expect(Object.isFrozen(ctx.settings())).toBe(true);
    expect(ProviderContext.fromSettings(ctx.settings()).settings()).toEqual(ctx.settings());
  });

  it("a missing key or a bad URL fails when the settings are needed, with settingsFrom's message, not when built", () => {
    const noKey = ProviderContext.fromConfig(config({}), {});
    const expected = thrownMessage(() => settingsFrom(undefined, {}), "settingsFrom(undefined, {}) without a key");
    expect(() => noKey.settings()).toThrow(SettingsError);
    expect(() => noKey.settings()).toThrow(expected);
    const badUrl = ProviderContext.fromConfig(
      config({ "mistral:apiKey": KEY_CONFIG, "mistral:serverUrl": "not a url" }),
      {},
    );
    expect(() => badUrl.settings()).toThrow(/"not a url", which is not a URL/);
    // the key is still known, so text is still redacted
    expect(badUrl.redact(`x ${KEY_CONFIG}`)).toBe("x [redacted]");
  });

  it("does not show the key when printed or serialized", () => {
    const ctx = ProviderContext.fromConfig(config({ "mistral:apiKey": KEY_CONFIG }), {});
    expect(ctx.settings().apiKey).toBe(KEY_CONFIG);
    for (const text of [
      JSON.stringify(ctx),
      inspect(ctx, { showHidden: true, depth: 5 }),
      String(ctx),
      JSON.stringify({ ...ctx }),
    ]) {
      expect(text).not.toContain(KEY_CONFIG);
    }
  });
});
