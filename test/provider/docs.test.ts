/**
 * The public surface is documented where it is declared: every optional property of an exported `*Args` type says
 * its `@default`, and every output (each field of an exported `*Inputs` / `*Outputs` shape, each property of an
 * exported Pulumi resource class) has TSDoc.
 *
 * The files (provider/*.ts and provider/eval/types.ts) are loaded with the TypeScript compiler and each type's
 * properties are resolved by its checker, so a derived type (`Args<Pick<XInputs, ...>>`, a class merged with
 * `Outputs<...>`) is checked through to the field it comes from: the TSDoc users see is the TSDoc checked here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");
const PROVIDER = path.join(ROOT, "provider");

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  types: ["node"],
  noEmit: true,
};

/** The files whose exports are checked. */
function sourceFiles(): string[] {
  const top = fs
    .readdirSync(PROVIDER)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.endsWith(".test.ts"))
    .map((f) => path.join(PROVIDER, f));
  return [...top, path.join(PROVIDER, "eval", "types.ts")];
}

interface DocReport {
  /** What was checked, as `Type.property`, so a test can tell the check is not vacuous. */
  checked: string[];
  /** One line per problem: `file: Type.property: what is missing`. */
  problems: string[];
}

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** Checks the exported declarations of `files`. */
function checkDocs(files: string[], options: ts.CompilerOptions = OPTIONS): DocReport {
  const program = ts.createProgram(files, options);
  const checker = program.getTypeChecker();
  const checked: string[] = [];
  const problems: string[] = [];
  const hasDoc = (p: ts.Symbol) => ts.displayPartsToString(p.getDocumentationComment(checker)).trim() !== "";
  const hasDefault = (p: ts.Symbol) =>
    p.getJsDocTags(checker).some((t) => t.name === "default" && ts.displayPartsToString(t.text).trim() !== "");
  const isOptional = (p: ts.Symbol) => (p.flags & ts.SymbolFlags.Optional) !== 0;
  /** The properties a class inherits from the class it extends (Pulumi's `urn`, `id`, ...): not its outputs. */
  const inherited = (c: ts.ClassDeclaration): Set<string> => {
    const base = c.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
    return new Set(base ? checker.getPropertiesOfType(checker.getTypeAtLocation(base)).map((p) => p.name) : []);
  };
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file} was not loaded`);
    const where = path.relative(ROOT, file).split(path.sep).join("/");
    for (const statement of source.statements) {
      if (!isExported(statement)) continue;
      if (
        !(
          ts.isInterfaceDeclaration(statement) ||
          ts.isTypeAliasDeclaration(statement) ||
          ts.isClassDeclaration(statement)
        ) ||
        !statement.name
      )
        continue;
      const name = statement.name.text;
      const symbol = checker.getSymbolAtLocation(statement.name);
      if (!symbol) continue;
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      const props = checker.getPropertiesOfType(type);
      if (ts.isClassDeclaration(statement)) {
        // A Pulumi resource (it has an `urn`): each of its own properties is an output and needs TSDoc.
        if (!props.some((p) => p.name === "urn")) continue;
        const base = inherited(statement);
        for (const p of props) {
          if (base.has(p.name) || p.flags & ts.SymbolFlags.Method) continue;
          checked.push(`${name}.${p.name}`);
          if (!hasDoc(p)) problems.push(`${where}: ${name}.${p.name}: output without TSDoc`);
        }
      } else if (/Args$/.test(name)) {
        for (const p of props) {
          checked.push(`${name}.${p.name}`);
          if (!hasDoc(p)) problems.push(`${where}: ${name}.${p.name}: arg without TSDoc`);
          if (isOptional(p) && !hasDefault(p))
            problems.push(`${where}: ${name}.${p.name}: optional arg without @default`);
        }
      } else if (/(Inputs|Outputs)$/.test(name)) {
        for (const p of props) {
          checked.push(`${name}.${p.name}`);
          if (!hasDoc(p)) problems.push(`${where}: ${name}.${p.name}: field without TSDoc`);
        }
      }
    }
  }
  return { checked, problems };
}

describe("TSDoc of the public surface", () => {
  const report = checkDocs(sourceFiles());

  it("every optional arg has a @default, every output and stored field has TSDoc", () => {
    expect(report.problems).toEqual([]);
  });

  it("checks the args and outputs of every resource (it is not vacuous)", () => {
    for (const expected of [
      "BatchFileArgs.purpose",
      "BatchFileArgs.filenamePrefix",
      "BatchJobArgs.timeoutHours",
      "BatchJobArgs.metadata",
      "BatchResultsArgs.deleteOnDestroy",
      "EvaluationArgs.scorer",
      "BatchFile.fileId",
      "BatchFile.purpose",
      "BatchJob.status",
      "BatchResults.outputPath",
      "Evaluation.summaries",
      "BatchFileOutputs.stateVersion",
      "BatchJobOutputs.jobId",
      "BatchResultsInputs.directory",
      "JobInputs.scope",
    ]) {
      expect(report.checked).toContain(expected);
    }
    // Inherited members of Pulumi's resource classes are not ours to document.
    expect(report.checked).not.toContain("BatchFile.urn");
  });

  it("reports a missing @default and a missing TSDoc, also through derived types", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-test-"));
    try {
      const file = path.join(dir, "fixture.ts");
      fs.writeFileSync(
        file,
        [
          "type Args<T> = { [K in keyof T]: T[K] | Promise<T[K]> };",
          "type Outputs<T> = { readonly [K in keyof T]-?: Promise<T[K]> };",
          "interface Stored {",
          "  /** Documented, with its default. @default 1 */",
          "  a?: number;",
          "  /** Documented, but no default. */",
          "  b?: string;",
          "  /** Required: needs no default. */",
          "  c: string;",
          "  d?: boolean;",
          "}",
          "export interface FooArgs extends Args<Pick<Stored, 'a' | 'b' | 'c' | 'd'>> {}",
          "export interface FooOutputs {",
          "  /** Documented. */",
          "  x: string;",
          "  y: number;",
          "}",
          "declare class Resource { readonly urn: string; }",
          "export interface Foo extends Outputs<FooOutputs> {}",
          "export class Foo extends Resource {",
          "  /** Documented. */",
          "  readonly z = 1;",
          "}",
        ].join("\n"),
      );
      expect(checkDocs([file], { ...OPTIONS, types: [] }).problems).toEqual([
        expect.stringMatching(/FooArgs\.b: optional arg without @default$/),
        expect.stringMatching(/FooArgs\.d: arg without TSDoc$/),
        expect.stringMatching(/FooArgs\.d: optional arg without @default$/),
        expect.stringMatching(/FooOutputs\.y: field without TSDoc$/),
        expect.stringMatching(/Foo\.y: output without TSDoc$/),
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
