/**
 * The provider objects Pulumi serializes into state as `__provider`. Each kind's provider is the exports object of
 * a module of this package, `pulumi-mistral-batch/runtime/<kind>` (entry/file.ts, entry/job.ts, entry/results.ts),
 * so Pulumi's closure serializer writes it as one `require("pulumi-mistral-batch/runtime/<kind>")` (it captures a
 * module installed under node_modules by reference): `__provider` is under 300 bytes, holds no code of this
 * package, no client, no key and no path, and refresh and destroy run the installed version.
 *
 * When the package is not under the program's node_modules as Pulumi sees it (linked with `npm link` or `file:`,
 * which Node resolves to the real path), the serializer captures that module by value instead: its methods, the
 * closures `entryPoints` (entry/methods.ts) makes, which hold nothing but the kind and the name of the runtime entry point and load
 * `pulumi-mistral-batch/runtime` at each call (about 2.5 KB). Both forms call the same frozen interface of
 * runtime.ts. The exports map also lists `./dist/provider/entry/<kind>.js`, the name the serializer falls back to
 * when it cannot read the package's manifest (a @pulumi/pulumi that does not resolve this package), so that form
 * resolves as well; those entries come before `./runtime/<kind>` in the map, as the serializer names a file by the
 * last entry that lists it.
 */
import type * as pulumi from "@pulumi/pulumi";
import * as fileProvider from "./entry/file";
import * as jobProvider from "./entry/job";
import { PROVIDER_KINDS, type ProviderKind } from "./entry/methods";
import * as resultsProvider from "./entry/results";
import * as setProvider from "./entry/set";

export { entryPoints, PROVIDER_KINDS, type ProviderKind } from "./entry/methods";

const providers: Record<ProviderKind, pulumi.dynamic.ResourceProvider> = {
  file: fileProvider,
  job: jobProvider,
  results: resultsProvider,
  set: setProvider,
};

/**
 * The serializable provider of a resource kind: the exports object of `pulumi-mistral-batch/runtime/<kind>`, one
 * per kind (so Pulumi serializes it once per program).
 */
export function thinProvider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  if (!Object.hasOwn(providers, kind)) {
    throw new Error(`thinProvider: kind is ${JSON.stringify(kind)}; allowed: ${PROVIDER_KINDS.join(", ")}`);
  }
  return providers[kind];
}
