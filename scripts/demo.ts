/**
 * `npm run demo`: a short scripted batch run against the embedded emulator, with the official Mistral SDK.
 * Uploads a small JSONL of arithmetic questions, runs it on two models, waits, downloads the results and
 * prints them joined by custom_id. It never talks to Mistral: it always starts its own emulator, and says so.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator } from "../emulator";

const QUESTIONS: [string, number][] = [
  ["What is 17 + 25?", 42],
  ["What is 9 * 8?", 72],
  ["What is 144 / 12?", 12],
  ["What is 1000 - 357?", 643],
  ["What is 23 * 19?", 437],
  ["What is 81 + 19?", 100],
  ["What is 56 / 7?", 8],
  ["What is 300 - 299?", 1],
];
const MODELS = ["mistral-large-latest", "ministral-3b-latest"];

async function main(): Promise<void> {
  const { Mistral } = await import("@mistralai/mistralai");
  const emulator = await startEmulator({ speed: { queueDelayMs: 500, requestsPerSecond: 8, cancelDelayMs: 200 } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mistral-batch-demo-"));
  try {
    console.log(`Emulator (offline stand-in for Mistral's servers) at ${emulator.url}`);
    const client = new Mistral({ apiKey: "emulator-demo-key", serverURL: emulator.url });

    const input = path.join(work, "questions.jsonl");
    fs.writeFileSync(
      input,
      QUESTIONS.map(([q], i) =>
        JSON.stringify({ custom_id: `q${i + 1}`, body: { max_tokens: 64, messages: [{ role: "user", content: q }] } }),
      ).join("\n") + "\n",
    );
    const uploaded = await client.files.upload({
      file: { fileName: "questions.jsonl", content: fs.readFileSync(input) },
      purpose: "batch",
    });
    console.log(`Uploaded ${uploaded.filename}: id ${uploaded.id}, ${uploaded.sizeBytes} bytes, ${uploaded.numLines} lines`);

    const answers = new Map<string, Map<string, string>>();
    for (const model of MODELS) {
      let job = await client.batch.jobs.create({
        inputFiles: [uploaded.id],
        model,
        endpoint: "/v1/chat/completions",
        metadata: { job_type: "demo" },
      });
      console.log(`Submitted job ${job.id} on ${model}: ${job.status}`);
      let shown = "";
      while (job.status === "QUEUED" || job.status === "RUNNING") {
        await new Promise((r) => setTimeout(r, 250));
        job = await client.batch.jobs.get({ jobId: job.id });
        const progress = `  ${job.status.padEnd(8)} ${job.completedRequests}/${job.totalRequests} requests`;
        if (progress !== shown) console.log((shown = progress));
      }
      console.log(`  ${job.status}: ${job.succeededRequests} succeeded, ${job.failedRequests} failed`);
      if (!job.outputFile) throw new Error(`job ${job.id} ended ${job.status} without an output file`);
      const stream = await client.files.download({ fileId: job.outputFile });
      const text = await new Response(stream).text();
      const byId = new Map<string, string>();
      for (const line of text.split("\n").filter(Boolean)) {
        const result = JSON.parse(line) as { custom_id: string; response: { body: { choices: { message: { content: string } }[] } } };
        byId.set(result.custom_id, result.response.body.choices[0].message.content);
      }
      answers.set(model, byId);
    }

    console.log("\nResults joined by custom_id (output lines arrive in any order):");
    const score = new Map<string, number>(MODELS.map((m) => [m, 0]));
    QUESTIONS.forEach(([question, expected], i) => {
      const id = `q${i + 1}`;
      const cells = MODELS.map((model) => {
        const text = answers.get(model)?.get(id) ?? "(missing)";
        const got = Number(/-?\d+(\.\d+)?(?!.*\d)/.exec(text)?.[0]);
        const ok = got === expected;
        if (ok) score.set(model, score.get(model)! + 1);
        return `${ok ? "right" : "wrong"} (${Number.isNaN(got) ? "?" : got})`;
      });
      console.log(`  ${id.padEnd(4)} ${question.padEnd(22)} expected ${String(expected).padEnd(4)} ${MODELS.map((m, j) => `${m}: ${cells[j]}`).join("  ")}`);
    });
    console.log(`\nAccuracy: ${MODELS.map((m) => `${m} ${score.get(m)}/${QUESTIONS.length}`).join(", ")}`);
  } finally {
    await emulator.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
