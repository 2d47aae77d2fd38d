/**
 * Layering: the library (`provider/`) never depends on its test double, the emulator package (`packages/emulator/`,
 * `mistral-batch-emulator`). Facts about Mistral's API live in the contract `provider/api/`, which both import (the
 * emulator as `pulumi-mistral-batch/api`).
 *
 * Every module specifier of every file under provider/ is found with the TypeScript parser (static imports and
 * re-exports, `import x = require()`, `require()`, `require.resolve()`, dynamic `import()`, `import("...")` types), then
 * resolved: relative paths against the importing file, this package's own name (`pulumi-mistral-batch/...`) through
 * the `exports` map of package.json, the emulator's package name to its folder. A specifier that is not a literal
 * is followed to the string constants it is built from. Anything landing in the emulator package (or in the folders
 * it had before it was one, `emulator/` and `dist/emulator/`) fails the test.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const MANIFEST = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, unknown>;
};
const EMULATOR = "mistral-batch-emulator";
const SOURCE = /\.(c|m)?(t|j)sx?$/;

/** Files under `dir`, recursively (no node_modules). */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : filesUnder(p);
    return SOURCE.test(e.name) && !/\.d\.(c|m)?ts$/.test(e.name) ? [p] : [];
  });
}

/** The module specifiers of a source text; a non-literal one as the string constants it is built from. */
function specifiersOf(text: string, fileName = "file.ts"): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const constants = new Map<string, ts.Expression>();
  const found: string[] = [];
  const literals = (node: ts.Node, seen = new Set<string>()): string[] => {
    if (ts.isStringLiteralLike(node)) return [node.text];
    if (ts.isIdentifier(node)) {
      const init = constants.get(node.text);
      if (!init || seen.has(node.text)) return [];
      seen.add(node.text);
      return literals(init, seen);
    }
    const out: string[] = [];
    node.forEachChild((child) => void out.push(...literals(child, seen)));
    return out;
  };
  const collectConstants = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer)
      constants.set(node.name.text, node.initializer);
    node.forEachChild(collectConstants);
  };
  const isRequire = (e: ts.Expression): boolean =>
    (ts.isIdentifier(e) && e.text === "require") ||
    (ts.isPropertyAccessExpression(e) &&
      ts.isIdentifier(e.expression) &&
      e.expression.text === "require" &&
      e.name.text === "resolve");
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
      found.push(...literals(node.moduleSpecifier));
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      found.push(...literals(node.moduleReference.expression));
    else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || isRequire(node.expression))
    ) {
      for (const arg of node.arguments) found.push(...literals(arg));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      found.push(...literals(node.argument.literal));
    node.forEachChild(visit);
  };
  collectConstants(source);
  visit(source);
  return found;
}

/** Paths (relative to the repository root, "/"-separated) a specifier written in `from` may load. */
function targetsOf(specifier: string, from: string): string[] {
  const rel = (p: string) => path.relative(ROOT, p).split(path.sep).join("/");
  if (specifier.startsWith(".") || path.isAbsolute(specifier))
    return [rel(path.resolve(path.dirname(from), specifier))];
  // A path built at run time (`path.join(dir, "dist/emulator/index.js")`): taken as relative to the root.
  if (/^(dist\/)?emulator(\/|$)|^packages\//.test(specifier)) return [specifier];
  if (specifier === EMULATOR || specifier.startsWith(`${EMULATOR}/`))
    return [`packages/emulator${specifier.slice(EMULATOR.length)}`];
  if (specifier !== MANIFEST.name && !specifier.startsWith(`${MANIFEST.name}/`)) return []; // another package
  const subpath = `.${specifier.slice(MANIFEST.name.length)}`;
  const entry = MANIFEST.exports[subpath];
  const strings = (v: unknown): string[] =>
    typeof v === "string" ? [v] : v && typeof v === "object" ? Object.values(v).flatMap(strings) : [];
  // Not in the exports map: Node refuses it, but say where it points anyway (e.g. `pulumi-mistral-batch/dist/emulator/x`).
  return (entry === undefined ? [subpath] : strings(entry)).map((t) => path.posix.normalize(t));
}

const inEmulator = (target: string): boolean => /^((dist\/)?emulator|packages\/emulator)(\/|$)/.test(target);

/** `file: specifier` for every import of a file under provider/ that reaches the emulator. */
function violations(): string[] {
  return filesUnder(path.join(ROOT, "provider")).flatMap((file) =>
    specifiersOf(fs.readFileSync(file, "utf8"), file)
      .filter((s) => targetsOf(s, file).some(inEmulator))
      .map((s) => `${path.relative(ROOT, file)}: ${s}`),
  );
}

describe("architecture", () => {
  it("no file under provider/ imports anything of the emulator package", () => {
    expect(violations()).toEqual([]);
  });

  it("the check sees every way of importing (it is not vacuous)", () => {
    const from = path.join(ROOT, "provider", "eval", "x.ts");
    const text = [
      'import { a } from "../../packages/emulator/src/types";',
      'import type { B } from "mistral-batch-emulator";',
      'export { c } from "../../emulator/jsonl.js";',
      'import d = require("../../packages/emulator/src/models");',
      'const e = require("pulumi-mistral-batch/emulator");',
      'const f = () => import("mistral-batch-emulator/dist/server.js");',
      'type G = typeof import("../../packages/emulator/src/clock");',
      'const entry = "mistral-batch-emulator"; require(entry);',
      'require(require("node:path").join(__dirname, "../../packages/emulator/src/faults"));',
      'require.resolve("pulumi-mistral-batch/dist/emulator/cli.js");',
      // allowed:
      'import { API_ENDPOINTS } from "../api";',
      'import { x } from "./emulatorish";',
      'import * as pulumi from "@pulumi/pulumi";',
      'import { BatchFile } from "pulumi-mistral-batch";',
      'const runtime = require("pulumi-mistral-batch/runtime");',
      'import { LIST_PRICES } from "pulumi-mistral-batch/api";',
    ].join("\n");
    const reached = specifiersOf(text, from).filter((s) => targetsOf(s, from).some(inEmulator));
    expect(reached).toEqual([
      "../../packages/emulator/src/types",
      "mistral-batch-emulator",
      "../../emulator/jsonl.js",
      "../../packages/emulator/src/models",
      "pulumi-mistral-batch/emulator",
      "mistral-batch-emulator/dist/server.js",
      "../../packages/emulator/src/clock",
      "mistral-batch-emulator",
      "../../packages/emulator/src/faults",
      "pulumi-mistral-batch/dist/emulator/cli.js",
    ]);
  });
});
