/**
 * Where the provider's key and server come from (provider/settings.ts): stack config beats the environment,
 * messages say how to fix a missing key or a bad URL, and `redact` keeps the key out of any text.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MISTRAL_SERVERS, SettingsError, configureFrom, currentSettings, redact, resetConfiguration, resolveServerUrl } from "../../provider/settings";

const KEY_ENV = "env-key-0123456789abcdef";
const KEY_CONFIG = "cfg-key-fedcba9876543210";
const config = (values: Record<string, string | undefined>) => ({ get: (k: string) => values[k] });

let saved: { key?: string; url?: string };
beforeEach(() => {
  saved = { key: process.env.MISTRAL_API_KEY, url: process.env.MISTRAL_SERVER_URL };
  delete process.env.MISTRAL_API_KEY;
  delete process.env.MISTRAL_SERVER_URL;
  resetConfiguration();
});
afterEach(() => {
  resetConfiguration();
  for (const [name, value] of [["MISTRAL_API_KEY", saved.key], ["MISTRAL_SERVER_URL", saved.url]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("currentSettings", () => {
  it("uses the environment when the stack config has nothing", () => {
    const s = currentSettings({ MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "http://127.0.0.1:4010" });
    expect(s).toEqual({
      apiKey: KEY_ENV,
      serverUrl: "http://127.0.0.1:4010",
      sources: { apiKey: "environment MISTRAL_API_KEY", serverUrl: "environment MISTRAL_SERVER_URL" },
    });
  });

  it("reads process.env by default", () => {
    process.env.MISTRAL_API_KEY = KEY_ENV;
    expect(currentSettings().apiKey).toBe(KEY_ENV);
  });

  it("stack config beats the environment, for the key and the server", () => {
    configureFrom(config({ "mistral:apiKey": KEY_CONFIG, "mistral:serverUrl": "eu" }));
    const s = currentSettings({ MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "http://127.0.0.1:4010" });
    expect(s.apiKey).toBe(KEY_CONFIG);
    expect(s.serverUrl).toBe("https://api.eu.mistral.ai");
    expect(s.sources).toEqual({ apiKey: "stack config mistral:apiKey", serverUrl: "stack config mistral:serverUrl" });
  });

  it("config and environment mix per setting; blank config values count as unset", () => {
    configureFrom(config({ "mistral:apiKey": "   ", "mistral:serverUrl": "us" }));
    const s = currentSettings({ MISTRAL_API_KEY: KEY_ENV });
    expect(s.apiKey).toBe(KEY_ENV);
    expect(s.serverUrl).toBe(MISTRAL_SERVERS.us);
    expect(s.sources).toEqual({ apiKey: "environment MISTRAL_API_KEY", serverUrl: "stack config mistral:serverUrl" });
  });

  it("trims whitespace around values (a key pasted with a newline)", () => {
    expect(currentSettings({ MISTRAL_API_KEY: `  ${KEY_ENV}\n` }).apiKey).toBe(KEY_ENV);
    configureFrom(config({ "mistral:apiKey": `${KEY_CONFIG}\n` }));
    expect(currentSettings({}).apiKey).toBe(KEY_CONFIG);
  });

  it("defaults to Mistral's global server, never to an emulator", () => {
    const s = currentSettings({ MISTRAL_API_KEY: KEY_ENV });
    expect(s.serverUrl).toBe("https://api.mistral.ai");
    expect(s.sources.serverUrl).toBe("default");
  });

  it("resetConfiguration forgets what configure set", () => {
    configureFrom(config({ "mistral:apiKey": KEY_CONFIG }));
    expect(currentSettings({}).apiKey).toBe(KEY_CONFIG);
    resetConfiguration();
    expect(() => currentSettings({})).toThrow(SettingsError);
  });

  it("a missing key says how to set it, in config or environment, and shows no key", () => {
    let error: unknown;
    try {
      currentSettings({ MISTRAL_API_KEY: "", MISTRAL_SERVER_URL: "http://127.0.0.1:4010" });
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
    expect(() => currentSettings({ MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "not a url" })).toThrow(/"not a url", which is not a URL/);
    // parses as a URL with protocol "localhost:": refused as not http(s), naming the environment variable too
    expect(() => currentSettings({ MISTRAL_API_KEY: KEY_ENV, MISTRAL_SERVER_URL: "localhost:4010" })).toThrow(
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
    expect(() => resolveServerUrl("ftp://files.example.com")).toThrow(/"ftp:\/\/files\.example\.com", which is not an http\(s\) URL; use .* one of: global, eu, us/);
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

  it("uses the configured key by default, else the environment's", () => {
    process.env.MISTRAL_API_KEY = KEY_ENV;
    expect(redact(`x ${KEY_ENV} y`)).toBe("x [redacted] y");
    configureFrom(config({ "mistral:apiKey": KEY_CONFIG }));
    expect(redact(`x ${KEY_CONFIG} y`)).toBe("x [redacted] y");
  });

  it("redacts the key in use when the environment holds it with surrounding whitespace", () => {
    process.env.MISTRAL_API_KEY = `${KEY_ENV}\n`;
    const inUse = currentSettings().apiKey;
    expect(inUse).toBe(KEY_ENV);
    expect(redact(`Authorization: Bearer ${inUse}`)).toBe("Authorization: Bearer [redacted]");
  });

  it("leaves text alone without a key, and ignores keys too short to be real", () => {
    expect(redact("nothing to hide")).toBe("nothing to hide");
    expect(redact("abc abc", "abc")).toBe("abc abc");
    expect(redact("", KEY_ENV)).toBe("");
  });
});
