/**
 * `npm run demo`: the root project (its `Pulumi.yaml` runs the flagship, examples/model-comparison: 50 arithmetic
 * questions across three models) end to end through the real Pulumi CLI and its Node.js language host, as
 * `pulumi up` typed at the repository root, with a local state backend and a private PULUMI_HOME in a temporary
 * directory: `pulumi up` uploads, submits, waits, downloads, scores and writes the report; a second `up` with no
 * change submits nothing and reproduces it.
 *
 * Offline by default, on the embedded emulator (no API key needed). `npm run demo -- --live` runs the same program
 * against Mistral itself, with MISTRAL_API_KEY (and optionally MISTRAL_SERVER_URL); it never falls back silently.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startEmulator, type Emulator } from "mistral-batch-emulator";
import { formatSummaryTable } from "../provider/eval/report";
import type { ModelSummary } from "../provider/eval/types";
import { ROOT, projectStack } from "./engine";

const STACK = "demo";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { live: { type: "boolean", default: false } } });
  let emulator: Emulator | undefined;
  let serverUrl: string | undefined;
  let apiKey: string;
  if (values.live) {
    if (!process.env.MISTRAL_API_KEY)
      throw new Error(
        "--live runs against Mistral and needs MISTRAL_API_KEY; without --live the demo runs offline on the emulator",
      );
    apiKey = process.env.MISTRAL_API_KEY;
    serverUrl = process.env.MISTRAL_SERVER_URL;
    console.log(
      `Running against Mistral (${serverUrl ?? "https://api.mistral.ai"}): this submits 3 small batch jobs on your account.`,
    );
  } else {
    emulator = await startEmulator({ speed: { queueDelayMs: 1500, requestsPerSecond: 25, cancelDelayMs: 500 } });
    serverUrl = emulator.url;
    apiKey = "emulator-demo-key";
    console.log(
      `Running offline: the emulator (a stand-in for Mistral's servers) is at ${emulator.url}. Use --live for Mistral.`,
    );
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mistral-batch-demo-"));
  // The stack's settings file, which the CLI writes beside the root Pulumi.yaml; the stack itself lives in `work`.
  const stackSettings = path.join(ROOT, `Pulumi.${STACK}.yaml`);
  const hadSettings = fs.existsSync(stackSettings);
  try {
    const stack = await projectStack({
      workDir: ROOT,
      stackName: STACK,
      stateDir: path.join(work, "state"),
      home: path.join(work, "home"),
      serverUrl,
      apiKey,
    });
    console.log("\n$ pulumi up   (at the repository root; local backend in a temporary directory)\n");
    const up = await stack.up({ onOutput: (text: string) => process.stdout.write(text) });
    const summaries = up.outputs.summaries?.value as ModelSummary[];
    const jobsAfterFirst = emulator?.store.jobs.size;

    console.log("\n$ pulumi up   (again, nothing changed)\n");
    const again = await stack.up({ onOutput: (text: string) => process.stdout.write(text) });
    const resubmitted = emulator ? emulator.store.jobs.size - (jobsAfterFirst ?? 0) : undefined;

    console.log("\nComparison (batch prices; accuracy is the share of answers equal to the expected number):\n");
    console.log(formatSummaryTable((again.outputs.summaries?.value as ModelSummary[]) ?? summaries));
    if (resubmitted !== undefined) console.log(`\nThe second up submitted ${resubmitted} jobs: every run was reused.`);
    console.log(`\nReport:   ${again.outputs.reportPath?.value}`);
    console.log(`Markdown: ${again.outputs.markdownPath?.value}`);
  } finally {
    await emulator?.close();
    fs.rmSync(work, { recursive: true, force: true });
    if (!hadSettings) fs.rmSync(stackSettings, { force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
