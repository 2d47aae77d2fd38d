/**
 * BatchFile: a batch input file in the Mistral workspace. Create uploads (streaming, content-addressed), read
 * refreshes, delete deletes. Its identity is its content: editing the file replaces it, moving it does not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { FILE_PURPOSES, type FilePurpose } from "./api";
import { call, isNotFound, statusOf } from "./client";
import type { ProviderContext } from "./context";
import { describeProblems, isClean, scanJsonlFile, scanJsonlText, type ScanResult } from "./jsonl";
import { isApiEndpoint, show, API_ENDPOINTS, type ApiEndpoint } from "./requests";
import type { InlineRequest } from "./jobLogic";
import { resolveStatePath, stateVersionOf, toStatePath } from "./paths";
import { ScanCache, scanFileCached } from "./scanCache";
import type { Args, OutputOnly, Outputs, Registers } from "./shape";
import { pauseStackTraces } from "./register";
import { thinProvider } from "./thin";
import { UNKNOWN, containsUnknown } from "./unknown";
import { ContentChangedError, contentFilename, uploadOnce } from "./upload";

/** The contract's file purposes, the default ("batch") first, in the order messages list them. */
const PURPOSES: readonly FilePurpose[] = ["batch", ...FILE_PURPOSES.filter((p) => p !== "batch")];

/**
 * The inputs of a BatchFile as the provider stores them (after `check`): the user's args with their defaults filled
 * in, plus the content's identity. The single source of the args' documentation: `BatchFileArgs` is derived from it.
 */
export interface BatchFileInputs {
  /**
   * Path of a local `.jsonl` file, one request per line: `{"custom_id": "...", "body": {...}}`. Relative paths
   * resolve from the Pulumi program's directory (state holds the path relative to it when inside it). Exactly one
   * of `source`, `requests` and `content`.
   * Identity is the content: editing the file replaces the resource; moving it with the same content changes nothing.
   * @default none: `requests` or `content` instead
   */
  source?: string;
  /**
   * Inline requests, serialized to JSONL. A change to them replaces the resource.
   * @default none: `source` or `content` instead
   */
  requests?: InlineRequest[];
  /**
   * The JSONL text itself. A change replaces the resource.
   * @default none: `source` or `requests` instead
   */
  content?: string;
  /**
   * Purpose of the file in the Mistral workspace. A change replaces the resource.
   * @default "batch"
   */
  purpose: string;
  /**
   * When set, every request body is checked for this endpoint before anything is uploaded
   * (chat needs `messages`, embeddings `input`, FIM `prompt`, ...). Changing it only re-checks: no replacement.
   * @default no body check beyond `{custom_id, body}`
   */
  endpoint?: ApiEndpoint;
  /**
   * The start of the uploaded file's name; the content's SHA-256 prefix follows it (`<prefix>-<sha256>.jsonl`),
   * which is how an earlier upload of the same content is found and adopted. A change alone changes nothing
   * remote (the uploaded file keeps its name), so renaming the source file shows no change.
   * @default the source file's name without `.jsonl`, else "batch"
   */
  filenamePrefix: string;
  /** SHA-256 of the content, hex, computed by `check` once the content is known (not at a preview that lacks it). */
  sha256?: string;
  /** Size of the content in bytes, computed by `check` with `sha256`. */
  bytes?: number;
  /** Number of requests (non-blank lines), computed by `check` with `sha256`. */
  lineCount?: number;
}

/** Outputs as the provider stores them: the stored inputs, plus what the upload returned. */
export interface BatchFileOutputs extends BatchFileInputs {
  /** The version of the state's shape (paths.ts); absent in state written before version 1. */
  stateVersion?: number;
  /** The Mistral file id (also the resource id). */
  fileId: string;
  /** The name the file was uploaded under: `<filenamePrefix>-<sha256 prefix>.jsonl`. */
  filename: string;
  /** Size of the uploaded file in bytes. */
  bytes: number;
  /** Number of requests (non-blank lines). */
  lineCount: number;
  /** SHA-256 of the content, hex. */
  sha256: string;
  /** Upload time, unix seconds. */
  createdAt: number;
  /** True when an earlier upload of the same content was adopted instead of uploading again. */
  adopted: boolean;
}

/** The args of a BatchFile: the stored inputs users set. `purpose` takes one of the contract's purposes. */
export interface BatchFileArgs
  extends Args<
    Partial<Pick<BatchFileInputs, "source" | "requests" | "content" | "purpose" | "endpoint" | "filenamePrefix">>,
    { purpose: pulumi.Input<FilePurpose> }
  > {}

/** The outputs a BatchFile exposes; the rest of `BatchFileOutputs` is the provider's own state. */
export type BatchFilePublicOutputs = Pick<
  BatchFileOutputs,
  "fileId" | "filename" | "bytes" | "lineCount" | "sha256" | "createdAt" | "purpose" | "adopted"
>;

/** The public outputs that are not args, registered as `undefined` by the constructor (the provider sets them). */
const OUTPUT_ONLY: OutputOnly<Omit<BatchFilePublicOutputs, keyof BatchFileArgs>> = {
  fileId: undefined,
  filename: undefined,
  bytes: undefined,
  lineCount: undefined,
  sha256: undefined,
  createdAt: undefined,
  adopted: undefined,
};

/** Fields whose change means other content or another remote file. */
const REPLACING = ["sha256", "purpose"] as const;

/** @internal */
export function requestsToJsonl(requests: InlineRequest[]): string {
  return `${requests.map((r) => JSON.stringify({ custom_id: r.customId, body: r.body })).join("\n")}\n`;
}

function describeSource(inputs: Partial<BatchFileInputs>): string {
  if (typeof inputs.source === "string") return inputs.source;
  return inputs.requests ? "requests" : "content";
}

/**
 * Scans what the inputs point at; `undefined` when it is not known yet (preview). A source file is scanned once while
 * it is unchanged (scanCache.ts); `fresh` scans it again whatever the cache holds.
 */
async function scanInputs(
  inputs: Partial<BatchFileInputs>,
  fresh = false,
): Promise<{ scan: ScanResult; property: string } | undefined> {
  const endpoint = isApiEndpoint(inputs.endpoint) ? inputs.endpoint : undefined;
  const options = { endpoint: (inputs.purpose ?? "batch") === "batch" ? endpoint : undefined };
  if (inputs.source !== undefined) {
    if (inputs.source === UNKNOWN) return undefined;
    const { result } = await scanFileCached(
      resolveStatePath(inputs.source),
      options,
      scanJsonlFile,
      new ScanCache(),
      fresh,
    );
    return { scan: result, property: "source" };
  }
  if (inputs.requests !== undefined) {
    if (containsUnknown(inputs.requests)) return undefined;
    return { scan: scanJsonlText(requestsToJsonl(inputs.requests), options), property: "requests" };
  }
  if (inputs.content !== undefined) {
    if (inputs.content === UNKNOWN) return undefined;
    return { scan: scanJsonlText(inputs.content, options), property: "content" };
  }
  return undefined;
}

/** @internal */
export class BatchFileProvider implements pulumi.dynamic.ResourceProvider<BatchFileInputs, BatchFileOutputs> {
  /** `ctx`: the configuration `configure` built (runtime.ts); `check` and `diff` do not use it. */
  constructor(private readonly ctx: ProviderContext) {}

  async check(_olds: BatchFileInputs, news: BatchFileInputs): Promise<pulumi.dynamic.CheckResult<BatchFileInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs: BatchFileInputs = { ...news, purpose: news.purpose ?? "batch" };
    delete inputs.sha256;
    delete inputs.bytes;
    delete inputs.lineCount;
    const given = (["source", "requests", "content"] as const).filter((k) => news[k] !== undefined && news[k] !== null);
    if (given.length !== 1) {
      failures.push({
        property: given[1] ?? "source",
        reason:
          given.length === 0
            ? "set one of source (a .jsonl path), requests (inline) or content (JSONL text)"
            : `set only one of source, requests and content; received ${given.join(" and ")}`,
      });
      return { inputs, failures };
    }
    // Types first: a wrong type must be a failure naming the field, not a crash further down.
    const [kind] = given;
    const value: unknown = news[kind];
    const isItem = (r: unknown) => r === UNKNOWN || (typeof r === "object" && r !== null && !Array.isArray(r));
    if (
      value !== UNKNOWN &&
      (kind === "requests" ? !Array.isArray(value) || !value.every(isItem) : typeof value !== "string")
    ) {
      const expected = {
        source: "the path of a .jsonl file (a string)",
        content: "JSONL text (a string)",
        requests: "a list of { customId, body }",
      }[kind];
      failures.push({ property: kind, reason: `${kind} is ${show(value)}; expected ${expected}` });
      return { inputs, failures };
    }
    if (
      news.filenamePrefix !== undefined &&
      news.filenamePrefix !== null &&
      news.filenamePrefix !== UNKNOWN &&
      typeof news.filenamePrefix !== "string"
    ) {
      failures.push({
        property: "filenamePrefix",
        reason: `filenamePrefix is ${show(news.filenamePrefix)}; expected a string`,
      });
    }
    if (inputs.purpose !== UNKNOWN && !(PURPOSES as readonly string[]).includes(inputs.purpose)) {
      failures.push({
        property: "purpose",
        reason: `purpose is ${show(inputs.purpose)}; allowed: ${PURPOSES.join(", ")}`,
      });
    }
    if (news.endpoint !== undefined && (news.endpoint as string) !== UNKNOWN && !isApiEndpoint(news.endpoint)) {
      failures.push({
        property: "endpoint",
        reason: `endpoint is ${show(news.endpoint)}; allowed: ${API_ENDPOINTS.join(", ")}`,
      });
    }
    if (news.source !== undefined && news.source !== UNKNOWN) {
      const resolved = path.resolve(news.source);
      const stat = fs.statSync(resolved, { throwIfNoEntry: false });
      if (!stat?.isFile()) {
        failures.push({
          property: "source",
          reason: `source ${show(news.source)} is not a file (resolved to ${resolved} from ${process.cwd()}); expected the path of a .jsonl file`,
        });
        return { inputs, failures };
      } // State holds it relative to the program's directory when inside it: a moved checkout shows no change.
      inputs.source = toStatePath(news.source);
    }
    if (news.filenamePrefix === undefined || news.filenamePrefix === null) {
      // An unknown source (preview) gives an unknown default, not "batch": the name is not known yet.
      inputs.filenamePrefix =
        news.source === UNKNOWN
          ? UNKNOWN
          : typeof news.source === "string"
            ? path.basename(news.source).replace(/\.jsonl$/i, "")
            : "batch";
    }
    if (failures.length) return { inputs, failures };
    const scanned = await scanInputs(inputs);
    if (scanned) {
      if (!isClean(scanned.scan)) {
        failures.push({ property: scanned.property, reason: describeProblems(describeSource(inputs), scanned.scan) });
      } else {
        inputs.sha256 = scanned.scan.sha256;
        inputs.bytes = scanned.scan.bytes;
        inputs.lineCount = scanned.scan.requests;
      }
    }
    return { inputs, failures };
  }

  async diff(_id: string, olds: BatchFileOutputs, news: BatchFileInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces: string[] = [];
    for (const k of REPLACING) {
      const n = news[k];
      if (n === undefined || containsUnknown(n) || olds[k] !== n) {
        replaces.push(
          k === "sha256"
            ? news.source !== undefined
              ? "source"
              : news.requests !== undefined
                ? "requests"
                : "content"
            : k,
        );
      }
    }
    const endpointChanged = (olds.endpoint ?? null) !== (news.endpoint ?? null);
    return { changes: replaces.length > 0 || endpointChanged, replaces, deleteBeforeReplace: false };
  }

  async create(inputs: BatchFileInputs): Promise<pulumi.dynamic.CreateResult<BatchFileOutputs>> {
    const resource = `BatchFile (${describeSource(inputs)})`;
    let scanned: Awaited<ReturnType<typeof scanInputs>>;
    try {
      // `check` scanned it a moment ago: the upload hashes it as it streams and proves it unchanged (uploadOnce).
      if (
        inputs.source !== undefined &&
        inputs.sha256 &&
        inputs.bytes !== undefined &&
        inputs.lineCount !== undefined
      ) {
        fs.accessSync(resolveStatePath(inputs.source), fs.constants.R_OK);
        const identity = {
          sha256: inputs.sha256,
          bytes: inputs.bytes,
          requests: inputs.lineCount,
          problems: [],
          moreProblems: false,
          fileProblems: [],
        };
        scanned = { scan: identity, property: "source" };
      } else {
        scanned = await scanInputs(inputs);
      }
    } catch (error) {
      // `check` read it a moment ago: the file was removed or made unreadable since.
      throw new Error(
        `${resource}: source ${show(inputs.source)} cannot be read any more (${(error as Error).message}); it was readable when checked. ` +
          "Restore the file (or point source at it) and run the update again",
        { cause: error },
      );
    }
    if (!scanned) throw new Error(`${resource}: the content is not known yet; run the update again once it is`);
    // A change since `check` is reported as such first: what preview showed is not what would be uploaded.
    if (inputs.sha256 && scanned.scan.sha256 !== inputs.sha256) {
      const problems = isClean(scanned.scan)
        ? ""
        : `; besides, it no longer passes the checks:\n${describeProblems(describeSource(inputs), scanned.scan)}`;
      throw new Error(
        `${resource}: the content changed after it was checked (sha256 ${inputs.sha256.slice(0, 12)}… then, ${scanned.scan.sha256.slice(0, 12)}… now); run the update again${problems}`,
      );
    }
    if (!isClean(scanned.scan)) {
      throw new Error(`${resource}: ${describeProblems(describeSource(inputs), scanned.scan)}`);
    }
    const filename = contentFilename(inputs.filenamePrefix, scanned.scan.sha256);
    let source: { path: string } | { content: Buffer };
    if (inputs.source !== undefined) source = { path: resolveStatePath(inputs.source) };
    else if (inputs.requests) source = { content: Buffer.from(requestsToJsonl(inputs.requests)) };
    else if (inputs.content !== undefined) source = { content: Buffer.from(inputs.content) };
    // Not reached: scanInputs found content above, so one of the three is set.
    else throw new Error(`${resource}: none of source, requests and content is set`);
    let uploaded: Awaited<ReturnType<typeof uploadOnce>>;
    try {
      uploaded = await uploadOnce(this.ctx, {
        source,
        filename,
        bytes: scanned.scan.bytes,
        purpose: inputs.purpose,
        resource,
        sha256: scanned.scan.sha256,
      });
    } catch (error) {
      if (!(error instanceof ContentChangedError)) throw error;
      // Say what is wrong with the new content too, if anything, so one more run is enough. Scanned again without
      // the cache, whose entry (if any) is replaced: the next check must see what the upload saw.
      const now = await scanInputs(inputs, true).catch(() => undefined);
      const problems =
        now && !isClean(now.scan)
          ? `; besides, it no longer passes the checks:\n${describeProblems(describeSource(inputs), now.scan)}`
          : "";
      throw new Error(`${error.message}${problems}`, { cause: error });
    }
    const { file, adopted } = uploaded;
    return {
      id: file.id,
      outs: {
        ...inputs,
        fileId: file.id,
        filename: file.filename,
        bytes: scanned.scan.bytes,
        lineCount: scanned.scan.requests,
        sha256: scanned.scan.sha256,
        createdAt: file.createdAt,
        adopted,
        stateVersion: stateVersionOf(undefined),
      },
    };
  }

  async read(id: string, props?: BatchFileOutputs): Promise<pulumi.dynamic.ReadResult<BatchFileOutputs>> {
    const client = await this.ctx.client();
    let file: Awaited<ReturnType<typeof client.files.retrieve>>;
    try {
      file = await call(this.ctx, "files.retrieve", `BatchFile ${id}`, () => client.files.retrieve({ fileId: id }));
    } catch (error) {
      if (isNotFound(error)) return {}; // gone: refresh drops it from state
      throw error;
    }
    if (file.deleted) return {};
    const known = props?.fileId ? props : undefined; // refresh has outputs; `BatchFile.get` has only an id
    const outs: BatchFileOutputs = {
      ...(known ?? { purpose: file.purpose, filenamePrefix: file.filename.replace(/-[0-9a-f]{16}\.jsonl$/, "") }),
      fileId: file.id,
      filename: file.filename,
      bytes: file.sizeBytes,
      lineCount: file.numLines ?? known?.lineCount ?? 0,
      sha256: known?.sha256 ?? "",
      createdAt: file.createdAt,
      adopted: known?.adopted ?? true,
      purpose: file.purpose,
      // Fields a newer release added stay (the spread above); its version too, so it is not taken for ours.
      stateVersion: stateVersionOf(known),
      ...(typeof known?.source === "string" ? { source: toStatePath(known.source) } : {}),
    };
    return known
      ? { id: file.id, props: outs }
      : {
          id: file.id,
          props: outs,
          inputs: { purpose: outs.purpose, filenamePrefix: outs.filenamePrefix } as BatchFileOutputs,
        };
  }

  async update(
    _id: string,
    olds: BatchFileOutputs,
    news: BatchFileInputs,
  ): Promise<pulumi.dynamic.UpdateResult<BatchFileOutputs>> {
    // Only `endpoint` updates in place, and it changes nothing remote: `check` has re-validated the content.
    // The uploaded file keeps its name whatever `filenamePrefix` says now.
    return {
      outs: {
        ...olds,
        ...news,
        sha256: olds.sha256,
        bytes: olds.bytes,
        lineCount: olds.lineCount,
        filename: olds.filename,
        stateVersion: stateVersionOf(undefined),
      },
    };
  }

  async delete(id: string): Promise<void> {
    const client = await this.ctx.client();
    try {
      await call(this.ctx, "files.delete", `BatchFile ${id}`, () => client.files.delete({ fileId: id }));
    } catch (error) {
      if (isNotFound(error)) return; // already gone is fine
      if (statusOf(error) === 409) {
        // Mistral refuses to delete an input of a job that has not ended; its own wording may not say so.
        throw new Error(
          `${(error as Error).message}. The file is probably an input of a batch job that has not ended: destroy that BatchJob first ` +
            "(Pulumi orders this by itself when the job's inputFiles use this BatchFile's id), or cancel the job, then run `pulumi destroy` again",
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** The outputs of a BatchFile, one `pulumi.Output` per field of `BatchFilePublicOutputs` (merged into the class below). */
export interface BatchFile extends Outputs<BatchFilePublicOutputs> {}

/**
 * A batch input file uploaded to Mistral.
 *
 * ```ts
 * const questions = new BatchFile("questions", { source: "data/questions.jsonl", endpoint: "/v1/chat/completions" });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the outputs pulumi.dynamic.Resource sets on the instance at run time, derived from the mapped type Outputs<…>; a class cannot take members from a mapped type, and `declare` fields would duplicate the list by hand.
export class BatchFile extends pulumi.dynamic.Resource {
  constructor(name: string, args: BatchFileArgs, opts?: pulumi.CustomResourceOptions) {
    // Without the promise stack traces of Pulumi's leak report, which cost most of a registration (register.ts).
    const restore = pauseStackTraces();
    try {
      super(
        thinProvider("file"),
        name,
        // `purpose` is an arg and an output: registered as given, so the output exists when it is not set.
        { ...args, ...OUTPUT_ONLY, purpose: args.purpose } satisfies Registers<BatchFilePublicOutputs>,
        opts,
        "mistral/batch",
        "BatchFile",
      );
    } finally {
      restore();
    }
  }

  /** Adopts an existing Mistral file by id (the `import` resource option does not work for dynamic resources). */
  static get(name: string, id: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions): BatchFile {
    return new BatchFile(name, {}, { ...opts, id });
  }
}
