/**
 * What the provider runs with: the settings (server and key) and the SDK client made from them, as one immutable
 * object. The provider's `configure` builds it once from the stack config and the environment (runtime.ts) and
 * hands it to the providers of each resource kind, which pass it on to what talks to Mistral (the upload, the
 * API calls, the progress lines). Nothing else holds or reads configuration.
 *
 * The API key is kept in private fields: it does not show in `JSON.stringify`, `util.inspect` or an error's
 * properties, and this object is never captured in serialized provider code (thin.ts holds no reference to it).
 */
import type { Mistral } from "@mistralai/mistralai" with { "resolution-mode": "import" };
import { mistralClient } from "./client";
import { report } from "./log";
import { SettingsError, apiKeyFrom, redact, settingsFrom, type ConfigLike, type Settings } from "./settings";

export class ProviderContext {
  readonly #settings: Settings | undefined;
  /** Why there are no settings (a missing key, a bad URL): the message of the SettingsError. */
  readonly #problem: string | undefined;
  /** The key to redact: the one in use, also when the settings failed for another reason. */
  readonly #apiKey: string | undefined;
  /** The SDK client, made on first use (inside a provider method). */
  #client: Promise<Mistral> | undefined;

  private constructor(settings: Settings | undefined, problem: string | undefined, apiKey: string | undefined) {
    this.#settings =
      settings &&
      Object.freeze({
        ...settings,
        sources: Object.freeze({ ...settings.sources }),
        ...(settings.warnings ? { warnings: Object.freeze([...settings.warnings]) } : {}),
      });
    this.#problem = problem;
    this.#apiKey = apiKey;
    Object.freeze(this);
  }

  /**
   * From a stack config (`configure`'s `req.config`; `undefined` when the engine never called `configure`) and the
   * environment, read now. Never throws: a missing key or a bad server URL fails the first call that needs them
   * (`settings()`, with the message settings.ts gives), so `check` and `diff` work without a key, as before.
   */
  static fromConfig(config: ConfigLike | undefined, env: NodeJS.ProcessEnv = process.env): ProviderContext {
    const apiKey = apiKeyFrom(config, env);
    try {
      return new ProviderContext(settingsFrom(config, env), undefined, apiKey);
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      return new ProviderContext(undefined, error.message, apiKey);
    }
  }

  /** From settings already resolved (tests, embedding). */
  static fromSettings(settings: Settings): ProviderContext {
    return new ProviderContext(settings, undefined, settings.apiKey);
  }

  /** Where to talk to and with which key. Throws a SettingsError saying how to fix the configuration. */
  settings(): Settings {
    if (!this.#settings) throw new SettingsError(this.#problem);
    return this.#settings;
  }

  /** The Mistral SDK client for these settings, one per context. */
  client(): Promise<Mistral> {
    if (!this.#client) {
      const settings = this.settings();
      for (const warning of settings.warnings ?? []) report(this, `warning: ${warning}`);
      const made = mistralClient(settings);
      this.#client = made;
      made.catch(() => {
        if (this.#client === made) this.#client = undefined; // e.g. the SDK failed to load: try again next time
      });
    }
    return this.#client;
  }

  /** Removes this context's API key from text that leaves the process (messages, logs). */
  redact(text: string): string {
    return redact(text, this.#apiKey);
  }
}
