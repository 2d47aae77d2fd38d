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
import { mistralClient, mistralCore } from "./client";
import { report } from "./log";
import { SettingsError, apiKeyFrom, redact, settingsFrom, type ConfigLike, type Settings } from "./settings";

/** Sets that read and write their local files at once in one provider process (`ProviderContext.localWork`). */
export const LOCAL_WORK_SLOTS = 2;

/** At most `size` callers at a time; the others wait their turn, first come first served. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

export class ProviderContext {
  readonly #settings: Settings | undefined;
  /** The turns of the sets' local work (planning, writing merged results): see `localWork`. */
  readonly #localWork = new Slots(LOCAL_WORK_SLOTS);
  /** Why there are no settings (a missing key, a bad URL): the message of the SettingsError. */
  readonly #problem: string | undefined;
  /** The key to redact: the one in use, also when the settings failed for another reason. */
  readonly #apiKey: string | undefined;
  /** The SDK client, made on first use (inside a provider method). */
  #client: Promise<Mistral> | undefined;
  /** The SDK's core client and models list function, made on first use (the model check, models.ts). */
  #core: ReturnType<typeof mistralCore> | undefined;
  /** Whether the settings' warnings were reported (once per context, by whichever client is made first). */
  #warned = false;

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

  /** True when the settings are usable (`settings()` does not throw). */
  ready(): boolean {
    return this.#settings !== undefined;
  }

  /** Where to talk to and with which key. Throws a SettingsError saying how to fix the configuration. */
  settings(): Settings {
    if (!this.#settings) throw new SettingsError(this.#problem);
    return this.#settings;
  }

  /** The Mistral SDK client for these settings, one per context. */
  client(): Promise<Mistral> {
    if (!this.#client) {
      const made = mistralClient(this.#settingsWarnedOnce());
      this.#client = made;
      made.catch(() => {
        if (this.#client === made) this.#client = undefined; // e.g. the SDK failed to load: try again next time
      });
    }
    return this.#client;
  }

  /**
   * The SDK's core client (`MistralCore`) with the same options as `client()`, and the SDK's `modelsList` function:
   * all the model check needs, which loads less of the SDK than `client()` (client.ts). One per context.
   */
  core(): ReturnType<typeof mistralCore> {
    if (!this.#core) {
      const made = mistralCore(this.#settingsWarnedOnce());
      this.#core = made;
      made.catch(() => {
        if (this.#core === made) this.#core = undefined;
      });
    }
    return this.#core;
  }

  #settingsWarnedOnce(): Settings {
    const settings = this.settings();
    if (!this.#warned) {
      this.#warned = true;
      for (const warning of settings.warnings ?? []) report(this, `warning: ${warning}`);
    }
    return settings;
  }

  /**
   * True when `other` was built from the same configuration: the same settings (key, server, lookup limit and
   * warnings), or the same problem with the same key. `configure` keeps the context in force then, with its client
   * and its models list (runtime.ts).
   */
  sameAs(other: ProviderContext): boolean {
    if (other.#apiKey !== this.#apiKey || other.#problem !== this.#problem) return false;
    const [a, b] = [this.#settings, other.#settings];
    if (!a || !b) return a === b;
    return (
      a.serverUrl === b.serverUrl &&
      a.jobLookupMaxJobs === b.jobLookupMaxJobs &&
      JSON.stringify(a.sources) === JSON.stringify(b.sources) &&
      JSON.stringify(a.warnings ?? []) === JSON.stringify(b.warnings ?? [])
    );
  }

  /**
   * Runs `fn`, a set's work on its local files (reading its source and results into maps of every request, writing
   * its merged results), when fewer than LOCAL_WORK_SLOTS such works run in this process: the engine updates a
   * wave's sets at once, and this work is CPU-bound, so more at a time only adds memory (each holds its maps).
   */
  localWork<T>(fn: () => Promise<T>): Promise<T> {
    return this.#localWork.run(fn);
  }

  /** Removes this context's API key from text that leaves the process (messages, logs). */
  redact(text: string): string {
    return redact(text, this.#apiKey);
  }
}
