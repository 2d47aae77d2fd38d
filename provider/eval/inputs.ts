/**
 * Writes the files an evaluation plan names (plan.ts), before the BatchFiles read them: the inline dataset, one JSONL
 * per planned file and shard (the shard's lines, each exactly `{custom_id, body}` with that file's overrides merged
 * into the body: any other field of a dataset line, the expected field included, is never uploaded, so changing it
 * replaces no file and no job), and the expected answers taken from the dataset's field. Written at preview too: a
 * BatchFile's diff reads its file.
 *
 * One pass over the dataset writes every shard file of every planned file, each to `<path>.tmp` and renamed when
 * complete (or dropped when the file already holds those bytes, so that it keeps its identity on disk). Memory: one write buffer per file being written (the shards come in order: one shard per planned file
 * is open at a time).
 */
import * as fs from "node:fs";
import { forEachDatasetLine, readDatasetLine, uploadedLine } from "./dataset";
import type { EvaluationPlan, PlannedFile } from "./plan";
import { LineWriter, replaceIfChanged } from "./lines";

/** Writes the shards of one planned file, in order, as the dataset's lines arrive. */
class ShardFiles {
  private next = 0;
  private writer: LineWriter | undefined;
  private left = 0;
  readonly written: string[] = [];

  constructor(readonly file: PlannedFile) {}

  /** Adds the dataset's next request line (the plan's shards cover them all, in order). */
  write(line: Record<string, unknown>): void {
    if (this.writer === undefined || this.left === 0) this.open();
    this.writer?.write(uploadedLine(line, this.file.overrides));
    this.left--;
  }

  private open(): void {
    this.close();
    const shard = this.file.shards[this.next++];
    if (shard === undefined)
      throw new Error(
        `writeEvaluationInputs: the dataset has more lines than the plan's shards of ${this.file.name} hold; it changed while the program ran: run again`,
      );
    this.writer = new LineWriter(`${shard.path}.tmp`);
    this.written.push(shard.path);
    this.left = shard.requests;
  }

  /** Closes the shard being written; true when every planned shard was written in full. */
  close(): boolean {
    this.writer?.close();
    this.writer = undefined;
    return this.next === this.file.shards.length && this.left === 0;
  }
}

export function writeEvaluationInputs(plan: EvaluationPlan): void {
  const { dataset, expected, files } = plan;
  fs.mkdirSync(plan.inputsDir, { recursive: true });
  if (
    dataset.inlineText !== undefined &&
    (!fs.existsSync(dataset.file) || fs.readFileSync(dataset.file, "utf8") !== dataset.inlineText)
  ) {
    fs.writeFileSync(dataset.file, dataset.inlineText);
  }
  const writers = files.map((file) => new ShardFiles(file));
  const answers = expected?.fromDataset ? new LineWriter(`${expected.file}.tmp`) : undefined;
  try {
    forEachDatasetLine(dataset, (text, lineNo) => {
      const { line, expected: answer } = readDatasetLine(plan.name, dataset, text, lineNo);
      if (answer) answers?.write(JSON.stringify({ custom_id: answer.customId, expected: answer.value }));
      for (const w of writers) w.write(line);
    });
    const complete = writers.map((w) => w.close()).every(Boolean);
    if (!complete)
      throw new Error(
        `writeEvaluationInputs: the dataset ${dataset.path} has fewer lines than the plan's shards hold; it changed while the program ran: run again`,
      );
  } catch (error) {
    for (const w of writers) w.close();
    answers?.close();
    for (const w of writers) for (const target of w.written) fs.rmSync(`${target}.tmp`, { force: true });
    if (answers) fs.rmSync(answers.path, { force: true });
    throw error;
  }
  answers?.close();
  // A shard file that holds what it held keeps its identity: its scans and its set's index are used again.
  for (const w of writers) for (const target of w.written) replaceIfChanged(`${target}.tmp`, target);
  if (answers && expected) replaceIfChanged(answers.path, expected.file);
}
