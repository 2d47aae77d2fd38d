/**
 * Writes the files an evaluation plan names (plan.ts), before the BatchFiles read them: the inline dataset, one JSONL
 * per planned file (the dataset with that file's overrides merged into every body, the expected field taken out),
 * and the expected answers taken from the dataset's field. Written at preview too: a BatchFile's diff reads its file.
 *
 * One pass over the dataset writes every file, each to `<path>.tmp` and renamed when complete.
 */
import * as fs from "node:fs";
import { bodyWith, forEachDatasetLine, readDatasetLine, type EvaluationPlan } from "./plan";

/** Lines buffered per file before a write. */
const FLUSH_LINES = 1000;

export function writeEvaluationInputs(plan: EvaluationPlan): void {
  const { dataset, expected, files } = plan;
  fs.mkdirSync(plan.inputsDir, { recursive: true });
  if (
    dataset.inlineText !== undefined &&
    (!fs.existsSync(dataset.file) || fs.readFileSync(dataset.file, "utf8") !== dataset.inlineText)
  ) {
    fs.writeFileSync(dataset.file, dataset.inlineText);
  }
  const writers = files.map((file) => ({
    target: file.path,
    overrides: file.overrides,
    lines: [] as string[],
    fd: -1,
  }));
  const expectedLines: string[] = [];
  try {
    for (const w of writers) w.fd = fs.openSync(`${w.target}.tmp`, "w");
    const flush = (w: (typeof writers)[number]) => {
      if (w.lines.length) fs.writeSync(w.fd, w.lines.join(""));
      w.lines.length = 0;
    };
    forEachDatasetLine(dataset, (text, lineNo) => {
      const { line, expected: answer } = readDatasetLine(plan.name, dataset, text, lineNo);
      if (answer) expectedLines.push(`${JSON.stringify({ custom_id: answer.customId, expected: answer.value })}\n`);
      for (const w of writers) {
        w.lines.push(`${JSON.stringify({ ...line, body: bodyWith(line, w.overrides) })}\n`);
        if (w.lines.length >= FLUSH_LINES) flush(w);
      }
    });
    for (const w of writers) flush(w);
  } finally {
    for (const w of writers) if (w.fd !== -1) fs.closeSync(w.fd);
  }
  for (const w of writers) fs.renameSync(`${w.target}.tmp`, w.target);
  if (expected?.fromDataset) fs.writeFileSync(expected.file, expectedLines.join(""));
}
