/**
 * `pulumi-mistral-batch/runtime`: what the serialized providers call into (see thin.ts). One provider process
 * serves every resource of a program; `configure` runs once with the stack's configuration.
 */
import type * as pulumi from "@pulumi/pulumi";
import { BatchFileProvider } from "./batchFile";
import { BatchJobProvider } from "./batchJob";
import { BatchResultsProvider } from "./batchResults";
import { configureFrom } from "./settings";
import type { ProviderKind } from "./thin";

const providers: Record<ProviderKind, pulumi.dynamic.ResourceProvider> = {
  file: new BatchFileProvider(),
  job: new BatchJobProvider(),
  results: new BatchResultsProvider(),
};

export async function configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
  configureFrom(req.config);
}

export function provider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  const p = providers[kind];
  if (!p) throw new Error(`pulumi-mistral-batch/runtime: no provider for resource kind ${JSON.stringify(kind)}; allowed: ${Object.keys(providers).join(", ")}`);
  return p;
}
