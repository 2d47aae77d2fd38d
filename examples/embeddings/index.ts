/**
 * An embeddings batch: inline texts become a batch file checked for the embeddings endpoint, embedded by
 * mistral-embed; `up` waits for the job and the vectors are downloaded next to the program.
 */
import * as path from "node:path";
import { BatchFile, BatchJob, BatchResults } from "pulumi-mistral-batch";

const texts = new BatchFile("texts", { source: path.join(__dirname, "texts.jsonl"), endpoint: "/v1/embeddings" });

const job = new BatchJob("embeddings", {
  inputFiles: [texts.id],
  model: "mistral-embed",
  endpoint: "/v1/embeddings",
  waitForCompletion: { timeoutMinutes: 30 },
});

const results = BatchResults.forJob("vectors", job, { directory: path.join(__dirname, "results") });

export const status = job.status;
export const embedded = job.succeededRequests;
export const vectorsPath = results.outputPath;
