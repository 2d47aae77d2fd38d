/**
 * The methods of the serialized providers (thin.ts): what the modules `pulumi-mistral-batch/runtime/<kind>`
 * (entry/file.ts, entry/job.ts, entry/results.ts) export, and what Pulumi writes into state when it captures one of
 * them by value. They hold nothing but the kind and the name of the runtime entry point.
 */
import type * as pulumi from "@pulumi/pulumi";

/** A resource kind of this package, as state names it. */
export type ProviderKind = "file" | "job" | "results" | "set";

/** The kinds, in the order the runtime lists them. */
export const PROVIDER_KINDS: readonly ProviderKind[] = ["file", "job", "results", "set"];

/**
 * The methods of a kind's serialized provider: each loads `pulumi-mistral-batch/runtime` (from the program's
 * node_modules when serialized by value; by self-reference inside the package otherwise) and calls it with the
 * kind.
 */
export function entryPoints(kind: ProviderKind): Required<pulumi.dynamic.ResourceProvider> {
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
