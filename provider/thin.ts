/**
 * The provider objects Pulumi serializes into state as `__provider`. They hold nothing but the name of the
 * installed entry point and the resource kind: every call loads `pulumi-mistral-batch/runtime` from the program's
 * node_modules, so refresh and destroy run the installed version (an upgrade fixes them too), `__provider` stays
 * small, and no client, key or heavy module is ever captured.
 */
import type * as pulumi from "@pulumi/pulumi";

export type ProviderKind = "file" | "job" | "results";

function make(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  const entry = "pulumi-mistral-batch/runtime";
  const load = () => {
    try {
      return require(entry);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (e.code !== "MODULE_NOT_FOUND" || !String(e.message).includes(entry)) throw error;
      throw new Error(
        `${entry} could not be loaded from ${process.cwd()}: install the package in the Pulumi program's project (npm install pulumi-mistral-batch)`,
        { cause: error },
      );
    }
  };
  return {
    configure: (req) => load().configure(req),
    check: (olds, news) => load().provider(kind).check(olds, news),
    diff: (id, olds, news) => load().provider(kind).diff(id, olds, news),
    create: (inputs) => load().provider(kind).create(inputs),
    read: (id, props) => load().provider(kind).read(id, props),
    update: (id, olds, news) => load().provider(kind).update(id, olds, news),
    delete: (id, props) => load().provider(kind).delete(id, props),
  };
}

const providers: Record<ProviderKind, pulumi.dynamic.ResourceProvider> = {
  file: make("file"),
  job: make("job"),
  results: make("results"),
};

/** The serializable provider of a resource kind (one object per kind, so Pulumi serializes it once). */
export function thinProvider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  return providers[kind];
}
