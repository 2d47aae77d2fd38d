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
      // A program inside the package's own repository (its examples): the package is a directory above.
      const fs = require("node:fs");
      const path = require("node:path");
      for (let dir = process.cwd(); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
        const manifest = path.join(dir, "package.json");
        if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).name === "pulumi-mistral-batch") {
          return require(path.join(dir, "dist/provider/runtime.js"));
        }
      }
      throw new Error(`${entry} could not be loaded from ${process.cwd()}: install the package in the Pulumi program's project (npm install pulumi-mistral-batch)`);
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

const providers: Record<ProviderKind, pulumi.dynamic.ResourceProvider> = { file: make("file"), job: make("job"), results: make("results") };

/** The serializable provider of a resource kind (one object per kind, so Pulumi serializes it once). */
export function thinProvider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  return providers[kind];
}
