/**
 * The smallest useful program: upload a batch file, run it on one model, export the status and the results file.
 *   pulumi config set --secret mistral:apiKey <key>      (and for the emulator: pulumi config set mistral:serverUrl http://127.0.0.1:<port>)
 *   pulumi up
 */
import * as path from "node:path";
import { BatchFile, BatchJob } from "pulumi-mistral-batch";

const requests = new BatchFile("requests", {
  source: path.join(__dirname, "requests.jsonl"),
  endpoint: "/v1/chat/completions",
});

const job = new BatchJob("answers", {
  inputFiles: [requests.id],
  model: "mistral-small-latest",
  metadata: { example: "minimal" },
});

export const fileId = requests.id;
export const jobId = job.id;
export const status = job.status;
export const outputFileId = job.outputFileId;
