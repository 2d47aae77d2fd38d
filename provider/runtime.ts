/**
 * `pulumi-mistral-batch/runtime`: what the serialized providers call into (see thin.ts). One provider process
 * serves every resource of a program. `configure` (called by the engine with the stack's configuration, possibly
 * more than once, e.g. once per serialized provider) builds the process's `ProviderContext` from it; the providers
 * of each kind are made for that context and get it as a constructor argument. A later `configure` with the same
 * configuration keeps the context in force, with its SDK client and its models list. Without `configure` (an
 * engine older than Pulumi 3.139) the context comes from the environment as it is at each call.
 *
 * The SDK (about a second of CPU to load) is loaded on the side as soon as a call shows it will be needed: the
 * `check` of a resource not yet in state (which `up` creates, and whose BatchJobs' model check needs the models
 * API, also in preview) starts loading the part of the SDK the first calls need (client.ts, `preloadSdk`), so the
 * load overlaps the engine's work (the program registering the next resources) instead of delaying the first
 * BatchJob check; unless the model check has a fresh copy of the models list on disk (modelCache.ts, written by the
 * last process that read it, e.g. the preview before an `up`): then a preview loads no SDK, and an `up` loads it
 * for its first create. A preview of resources already in state and unchanged loads no SDK at all.
 *
 * A FROZEN INTERFACE. State written by every earlier release holds serialized providers (`__provider`, thin.ts) that
 * call exactly these exports: `configure(req)` and `provider(kind)` with kind "file", "job", "results" or (since RequestSet) "set", and the
 * six methods of what `provider` returns, with the inputs and outputs those releases stored. Refresh and destroy of
 * old state run through here with the installed version. So: never remove or rename an export, a kind or a method,
 * nor change their signatures; new arguments must be optional. `provider` of a kind this version does not know
 * (one a later release added, or one dropped) gives a provider whose `delete` is a no-op with a warning, so such a
 * resource can still be destroyed, and whose other methods fail saying why. The providers accept outputs of any
 * state version (`stateVersion`, paths.ts): missing (before version 1: absolute paths), current, or higher (extra
 * fields are kept; `delete` works best-effort).
 */
import type * as pulumi from "@pulumi/pulumi";
import { BatchFileProvider } from "./batchFile";
import { BatchJobProvider } from "./batchJob";
import { BatchResultsProvider } from "./batchResults";
import { RequestSetProvider } from "./requestSet";
import { preloadSdk } from "./client";
import { modelsFromCopy } from "./models";
import { ProviderContext } from "./context";
import { report } from "./log";
import { PROVIDER_KINDS, type ProviderKind } from "./thin";

/** Every method but `configure`: the runtime's own `configure` is the one the engine calls. */
type Providers = Record<ProviderKind, Required<Omit<pulumi.dynamic.ResourceProvider, "configure">>>;

const KINDS = PROVIDER_KINDS;

function providersFor(ctx: ProviderContext): Providers {
  return {
    file: new BatchFileProvider(ctx),
    job: new BatchJobProvider(ctx),
    results: new BatchResultsProvider(ctx),
    set: new RequestSetProvider(ctx),
  };
}

/** The two entry points, over the context of one provider process. */
export interface Runtime {
  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void>;
  provider(kind: ProviderKind): pulumi.dynamic.ResourceProvider;
}

/**
 * A runtime with nothing configured yet: the module's entry points are one of these, for the process; tests make
 * their own. `env` is where the fallbacks MISTRAL_API_KEY and MISTRAL_SERVER_URL are read.
 */
export function createRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  let configured: { ctx: ProviderContext; providers: Providers } | undefined;
  let fromEnv:
    | { apiKey: string | undefined; serverUrl: string | undefined; ctx: ProviderContext; providers: Providers }
    | undefined;

  /** The context in force and its providers: the configured one, else the environment's (rebuilt when it changed). */
  const inForce = (): { ctx: ProviderContext; providers: Providers } => {
    if (configured) return configured;
    const apiKey = env.MISTRAL_API_KEY;
    const serverUrl = env.MISTRAL_SERVER_URL;
    if (!fromEnv || fromEnv.apiKey !== apiKey || fromEnv.serverUrl !== serverUrl) {
      const ctx = ProviderContext.fromConfig(undefined, env);
      fromEnv = { apiKey, serverUrl, ctx, providers: providersFor(ctx) };
    }
    return fromEnv;
  };
  const current = (): Providers => inForce().providers;

  /** `check` of a resource not in state yet (no olds): the SDK will be needed (create; a BatchJob's model check). */
  const checkOf =
    (kind: ProviderKind) => (olds: Record<string, unknown> | undefined, news: Record<string, unknown>) => {
      const { ctx, providers } = inForce();
      // Unless the model check has a fresh copy of the models list on disk (models.ts): then preview needs no SDK.
      if (
        ctx.ready() &&
        (olds === undefined || olds === null || Object.keys(olds).length === 0) &&
        !modelsFromCopy(ctx)
      )
        preloadSdk();
      return providers[kind].check(olds, news);
    };

  // One object per kind, stable across `configure` calls: each call goes to the provider of the context in force.
  const dispatch = (kind: ProviderKind): pulumi.dynamic.ResourceProvider => ({
    check: checkOf(kind),
    diff: (id, olds, news) => current()[kind].diff(id, olds, news),
    create: (inputs) => current()[kind].create(inputs),
    read: (id, props) => current()[kind].read(id, props),
    update: (id, olds, news) => current()[kind].update(id, olds, news),
    delete: (id, props) => current()[kind].delete(id, props),
  });
  const dispatchers = Object.fromEntries(KINDS.map((kind) => [kind, dispatch(kind)])) as Record<
    ProviderKind,
    pulumi.dynamic.ResourceProvider
  >;

  return {
    async configure(req) {
      const ctx = ProviderContext.fromConfig(req.config, env);
      if (!configured?.ctx.sameAs(ctx)) configured = { ctx, providers: providersFor(ctx) };
    },
    provider(kind) {
      if (!Object.hasOwn(dispatchers, kind)) return unknownKind(kind);
      return dispatchers[kind];
    },
  };
}

/** The message of every method but `delete` of an unknown kind's provider. */
export function unknownKindMessage(kind: unknown): string {
  return (
    `pulumi-mistral-batch/runtime: no provider for resource kind ${JSON.stringify(kind)}; allowed: ${KINDS.join(", ")}. ` +
    "The state was probably written by another version of pulumi-mistral-batch: install that version to manage this resource, or destroy it (which removes it from state only)"
  );
}

/**
 * The provider of a kind this version does not know: `delete` lets the engine drop the resource from state (with
 * a warning that nothing remote was deleted); everything else fails with `unknownKindMessage`.
 */
function unknownKind(kind: unknown): pulumi.dynamic.ResourceProvider {
  const fail = async (): Promise<never> => {
    throw new Error(unknownKindMessage(kind));
  };
  return {
    check: fail,
    diff: fail,
    create: fail,
    read: fail,
    update: fail,
    async delete(id: string) {
      report(
        { redact: (text: string) => text },
        `warning: resource ${JSON.stringify(id)} of kind ${JSON.stringify(kind)} is unknown to this version; it is removed from state only, nothing was deleted in Mistral or on disk`,
      );
    },
  };
}

const processRuntime = createRuntime();

/** Configures the process's providers from the stack config (`req.config`); every serialized provider calls it. */
export async function configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
  await processRuntime.configure(req);
}

/** The provider of a resource kind, over the configuration in force (see `unknownKindMessage` for other kinds). */
export function provider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  return processRuntime.provider(kind);
}
