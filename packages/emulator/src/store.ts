/**
 * Durable state of the emulator: file records, file contents and batch jobs.
 *
 * Layout of the data directory:
 *   blobs/<file id>        file contents (uploads, batch results, inline request lists)
 *   meta/files/<id>.json   one record per file
 *   meta/jobs/<id>.json    one record per job
 *   tmp/                   uploads and results being written; emptied at start
 *
 * Every record is written atomically (write to a temporary file, fsync, rename), so a `kill -9` at any point
 * leaves either the old or the new record, never a torn one (a temporary directory, removed at close, skips the
 * fsync: the rename alone is atomic for the processes that read it). A blob is renamed into place before its record
 * is written, so a record never points at a missing or partial blob.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type {
  ApiEndpoint,
  BatchJobStatus,
  FilePurpose,
  FileVisibility,
  SampleType,
  Source,
} from "pulumi-mistral-batch/api";

export interface FileRecord {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  sample_type: SampleType;
  source: Source;
  num_lines: number | null;
  mimetype: string | null;
  signature: string | null;
  expires_at: number | null;
  visibility: FileVisibility | null;
}

export interface JobRecord {
  id: string;
  object: "batch";
  input_files: string[];
  metadata: Record<string, string> | null;
  endpoint: ApiEndpoint;
  model: string | null;
  agent_id: string | null;
  output_file: string | null;
  error_file: string | null;
  errors: { message: string; count: number }[];
  status: BatchJobStatus;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  total_requests: number;
  completed_requests: number;
  succeeded_requests: number;
  failed_requests: number;
  timeout_hours: number;
  /** Emulator-internal bookkeeping, never sent on the wire. */
  internal: JobInternal;
}

export interface JobInternal {
  /** Milliseconds on the emulator clock, more precise than the wire's seconds. */
  createdAtMs: number;
  startedAtMs: number | null;
  /** Blob holding inline requests as JSONL, when the job was created with `requests`. */
  inlineBlob: string | null;
  /** Where processing stands: input index and byte offset into that input. */
  cursor: { input: number; offset: number };
  /** Partial result files in tmp/ and how many bytes of them are committed with this record. */
  partial: {
    output: string;
    outputBytes: number;
    error: string;
    errorBytes: number;
    outputLines: number;
    errorLines: number;
  };
  /** Aggregated per-message error counts. */
  errorCounts: Record<string, number>;
  cancelRequestedAtMs: number | null;
  /** Requests counted in the inputs at creation; `total_requests` shows it once the job runs. */
  plannedTotal: number;
  /** Set while a job's results are being published, so a restart can complete the publication. */
  finishing: { status: BatchJobStatus; atMs: number; outputId: string | null; errorId: string | null } | null;
  /** Set by an admin fault: the job ends FAILED with this message when it starts. */
  forcedFailure: string | null;
  /**
   * Observed profile: the problems found in the job's input lines at creation, which the job reports (ending
   * FAILED with them as `errors`) when it leaves QUEUED. Absent in the spec profile and in older records.
   */
  lineProblems?: { message: string; count: number }[] | null;
}

/** `sync`: fsync before the rename (a data directory meant to outlive the process, or the machine). */
function writeFileAtomicSync(file: string, data: string, sync: boolean): void {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, data);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export interface StoreOptions {
  /** Directory for durable state. Without one, a temporary directory removed by `close({ removeData: true })`. */
  dataDir?: string;
}

export class Store {
  readonly dataDir: string;
  readonly temporary: boolean;
  readonly files = new Map<string, FileRecord>();
  readonly jobs = new Map<string, JobRecord>();

  private constructor(dataDir: string, temporary: boolean) {
    this.dataDir = dataDir;
    this.temporary = temporary;
  }

  static open(options: StoreOptions = {}): Store {
    const temporary = !options.dataDir;
    const dir = options.dataDir
      ? path.resolve(options.dataDir)
      : fs.mkdtempSync(path.join(os.tmpdir(), "mistral-batch-emulator-"));
    const store = new Store(dir, temporary);
    for (const sub of ["blobs", "meta/files", "meta/jobs", "tmp"]) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    store.load();
    return store;
  }

  private load(): void {
    const readDir = <T>(sub: string, into: Map<string, T>) => {
      const dir = path.join(this.dataDir, sub);
      for (const name of fs.readdirSync(dir)) {
        const full = path.join(dir, name);
        if (!name.endsWith(".json")) {
          // A temporary record left by a kill between write and rename: the previous record still stands.
          fs.rmSync(full, { force: true });
          continue;
        }
        const record = JSON.parse(fs.readFileSync(full, "utf8")) as T & { id: string };
        into.set(record.id, record);
      }
    };
    readDir("meta/files", this.files);
    readDir("meta/jobs", this.jobs);
    // Partial results of running jobs live in tmp/; cut them back to what their job record committed.
    const keep = new Set<string>();
    for (const job of this.jobs.values()) {
      const p = job.internal.partial;
      if (job.internal.finishing) {
        keep.add(p.output).add(p.error);
        continue;
      }
      for (const [name, bytes] of [
        [p.output, p.outputBytes],
        [p.error, p.errorBytes],
      ] as const) {
        const full = this.tmpPath(name);
        keep.add(name);
        if (fs.existsSync(full)) fs.truncateSync(full, bytes);
        else if (bytes > 0)
          throw new Error(`emulator data dir ${this.dataDir}: partial result ${name} of job ${job.id} is missing`);
      }
    }
    for (const name of fs.readdirSync(path.join(this.dataDir, "tmp"))) {
      if (!keep.has(name)) fs.rmSync(this.tmpPath(name), { force: true });
    }
    // A blob nobody refers to was renamed into place by a commit that died before its record was written (or
    // outlived a deletion that died halfway): nothing can reach it any more.
    const referenced = new Set<string>(this.files.keys());
    for (const job of this.jobs.values()) {
      if (job.internal.inlineBlob) referenced.add(job.internal.inlineBlob);
      const f = job.internal.finishing;
      if (f?.outputId) referenced.add(f.outputId); // published before the crash, its record not yet written
      if (f?.errorId) referenced.add(f.errorId);
    }
    for (const name of fs.readdirSync(path.join(this.dataDir, "blobs"))) {
      if (!referenced.has(name)) fs.rmSync(this.blobPath(name), { force: true });
    }
  }

  blobPath(id: string): string {
    return path.join(this.dataDir, "blobs", id);
  }

  tmpPath(name: string): string {
    return path.join(this.dataDir, "tmp", name);
  }

  newTmpName(prefix: string): string {
    return `${prefix}-${randomUUID()}`;
  }

  /** Moves a finished temporary blob into place and records the file. */
  commitFile(tmpName: string, record: FileRecord): void {
    fs.renameSync(this.tmpPath(tmpName), this.blobPath(record.id));
    this.saveFile(record);
  }

  saveFile(record: FileRecord): void {
    writeFileAtomicSync(
      path.join(this.dataDir, "meta/files", `${record.id}.json`),
      JSON.stringify(record),
      !this.temporary,
    );
    this.files.set(record.id, record);
  }

  deleteFile(id: string): void {
    fs.rmSync(path.join(this.dataDir, "meta/files", `${id}.json`), { force: true });
    fs.rmSync(this.blobPath(id), { force: true });
    this.files.delete(id);
  }

  saveJob(record: JobRecord): void {
    writeFileAtomicSync(
      path.join(this.dataDir, "meta/jobs", `${record.id}.json`),
      JSON.stringify(record),
      !this.temporary,
    );
    this.jobs.set(record.id, record);
  }

  deleteJob(id: string): void {
    const job = this.jobs.get(id);
    fs.rmSync(path.join(this.dataDir, "meta/jobs", `${id}.json`), { force: true });
    if (job) {
      if (job.internal.inlineBlob) fs.rmSync(this.blobPath(job.internal.inlineBlob), { force: true });
      fs.rmSync(this.tmpPath(job.internal.partial.output), { force: true });
      fs.rmSync(this.tmpPath(job.internal.partial.error), { force: true });
    }
    this.jobs.delete(id);
  }

  async close(options: { removeData?: boolean } = {}): Promise<void> {
    if (options.removeData ?? this.temporary) {
      await fsp.rm(this.dataDir, { recursive: true, force: true });
    }
  }
}
