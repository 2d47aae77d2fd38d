/**
 * `pulumi-mistral-batch/runtime`: what the serialized providers call into (see thin.ts). One provider process
 * serves every resource of a program. `configure` (called by the engine with the stack's configuration, possibly
 * more than once, e.g. once per serialized provider) builds the process's `ProviderContext` from it; the providers
 * of each kind are made for that context and get it as a constructor argument. Without `configure` (an engine
 * older than Pulumi 3.139) the context comes from the environment as it is at each call.
 */
import type * as pulumi from "@pulumi/pulumi";
import { BatchFileProvider } from "./batchFile";
import { BatchJobProvider } from "./batchJob";
import { BatchResultsProvider } from "./batchResults";
import { ProviderContext } from "./context";
import type { ProviderKind } from "./thin";

/** Every method but `configure`: the runtime's own `configure` is the one the engine calls. */
type Providers = Record<ProviderKind, Required<Omit<pulumi.dynamic.ResourceProvider, "configure">>>;

const KINDS: readonly ProviderKind[] = ["file", "job", "results"];

function providersFor(ctx: ProviderContext): Providers {
  return { file: new BatchFileProvider(ctx), job: new BatchJobProvider(ctx), results: new BatchResultsProvider(ctx) };
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
  let configured: Providers | undefined;
  let fromEnv: { apiKey: string | undefined; serverUrl: string | undefined; providers: Providers } | undefined;

  /** The providers of the context in force: the configured one, else the environment's (rebuilt when it changed). */
  const current = (): Providers => {
    if (configured) return configured;
    const apiKey = env.MISTRAL_API_KEY;
    const serverUrl = env.MISTRAL_SERVER_URL;
    if (!fromEnv || fromEnv.apiKey !== apiKey || fromEnv.serverUrl !== serverUrl) {
      fromEnv = { apiKey, serverUrl, providers: providersFor(ProviderContext.fromConfig(undefined, env)) };
    }
    return fromEnv.providers;
  };

  // One object per kind, stable across `configure` calls: each call goes to the provider of the context in force.
  const dispatch = (kind: ProviderKind): pulumi.dynamic.ResourceProvider => ({
    check: (olds, news) => current()[kind].check(olds, news),
    diff: (id, olds, news) => current()[kind].diff(id, olds, news),
    create: (inputs) => current()[kind].create(inputs),
    read: (id, props) => current()[kind].read(id, props),
    update: (id, olds, news) => current()[kind].update(id, olds, news),
    delete: (id, props) => current()[kind].delete(id, props),
  });
  const dispatchers = Object.fromEntries(KINDS.map((kind) => [kind, dispatch(kind)])) as Record<ProviderKind, pulumi.dynamic.ResourceProvider>;

  return {
    async configure(req) {
      configured = providersFor(ProviderContext.fromConfig(req.config, env));
    },
    provider(kind) {
      if (!Object.hasOwn(dispatchers, kind)) {
        throw new Error(`pulumi-mistral-batch/runtime: no provider for resource kind ${JSON.stringify(kind)}; allowed: ${KINDS.join(", ")}`);
      }
      return dispatchers[kind];
    },
  };
}

const processRuntime = createRuntime();

export async function configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
  await processRuntime.configure(req);
}

export function provider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  return processRuntime.provider(kind);
}
