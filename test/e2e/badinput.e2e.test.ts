/**
 * Bad inputs through the real engine: `preview` fails with the provider's message (file and line, or field and
 * allowed values) and nothing reaches Mistral; `up` fails the same way and submits nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2EProject, assertDistFresh, chatJsonl, emulatorLib, lib, resources } from "./harness";
import type { Emulator } from "../../emulator";

const ENDPOINTS =
  "/v1/chat/completions, /v1/embeddings, /v1/fim/completions, /v1/moderations, /v1/chat/moderations, /v1/ocr, /v1/classifications, /v1/chat/classifications, /v1/conversations, /v1/audio/transcriptions";

/** Line 3 is cut short: not JSON. */
const MALFORMED = chatJsonl(2) + '{"custom_id": "q2", "body": {"messages": [\n' + chatJsonl(2, "q", 3);

interface Case {
  name: string;
  /** Where the problem is: a BatchFile's is found before anything is uploaded, a BatchJob's once its inputs are known. */
  on: "BatchFile" | "BatchJob";
  file: { source: string; endpoint?: string };
  job: { timeoutHours?: number; endpoint?: string };
  /** What the engine's output must say. */
  expected: (string | RegExp)[];
}

const cases: Case[] = [
  {
    name: "a malformed JSONL line",
    on: "BatchFile",
    file: { source: "data/malformed.jsonl", endpoint: "/v1/chat/completions" },
    job: {},
    expected: [
      "BatchFile resource 'questions': property source value {data/malformed.jsonl} has a problem",
      /data\/malformed\.jsonl line 3: \(line\) is "\{\\"custom_id\\": \\"q2\\", \\"body\\": \{\\"messages\\": \["; expected valid JSON \(/,
    ],
  },
  {
    name: "an unknown endpoint on the BatchFile",
    on: "BatchFile",
    file: { source: "data/questions.jsonl", endpoint: "/v1/chat/complete" },
    job: {},
    expected: [`BatchFile resource 'questions': property endpoint value {/v1/chat/complete} has a problem: endpoint is "/v1/chat/complete"; allowed: ${ENDPOINTS}`],
  },
  {
    name: "timeoutHours 0",
    on: "BatchJob",
    file: { source: "data/questions.jsonl" },
    job: { timeoutHours: 0 },
    expected: ["BatchJob resource 'answers': property timeoutHours value {0} has a problem: timeoutHours is 0; allowed: a whole number of hours from 1 to 168 (7 days)"],
  },
  {
    name: "an unknown endpoint on the BatchJob",
    on: "BatchJob",
    file: { source: "data/questions.jsonl" },
    job: { endpoint: "/v1/chat/complete" },
    expected: [`BatchJob resource 'answers': property endpoint value {/v1/chat/complete} has a problem: endpoint is "/v1/chat/complete"; allowed: ${ENDPOINTS}`],
  },
];

describe("bad inputs through the engine", { timeout: 240_000 }, () => {
  let project: E2EProject;
  const emulators: Emulator[] = [];

  beforeAll(() => {
    assertDistFresh();
    project = new E2EProject("badinput", { files: { "data/questions.jsonl": chatJsonl(3), "data/malformed.jsonl": MALFORMED } });
  });

  afterAll(async () => {
    for (const e of emulators) await e.close();
    project?.cleanup();
  });

  /** The program of a case: a file and a job on it, as a user writes them; `fixed` drops the job's bad input. */
  const programFor = (c: Case, fixed = { job: false }) => async () => {
    const { BatchFile, BatchJob } = lib();
    const file = new BatchFile("questions", c.file as ConstructorParameters<typeof BatchFile>[1]);
    const job = new BatchJob("answers", { inputFiles: [file.id], model: "mistral-small-latest", ...(fixed.job ? {} : c.job) } as ConstructorParameters<typeof BatchJob>[1]);
    return { fileId: file.id, jobId: job.id };
  };

  /** The Automation API's error (its message holds the CLI's whole output) and what the engine printed. */
  const failure = async (run: (onOutput: (t: string) => void) => Promise<unknown>): Promise<{ message: string; output: string }> => {
    const output: string[] = [];
    const error = await run((t) => (output.push(t), project.onOutput(t))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, "the operation should have failed").toBeInstanceOf(Error);
    return { message: (error as Error).message, output: output.join("") };
  };

  const expectNamed = (text: string, expected: Case["expected"]) => {
    for (const e of expected) typeof e === "string" ? expect(text).toContain(e) : expect(text).toMatch(e);
  };

  for (const [i, c] of cases.entries()) {
    describe(c.name, () => {
      let emulator: Emulator;
      let stack: Awaited<ReturnType<E2EProject["stack"]>>;
      const uploaded = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");

      beforeAll(async () => {
        emulator = await emulatorLib().startEmulator({ speed: "instant" });
        emulators.push(emulator);
        stack = await project.stack(programFor(c), emulator.url, `case${i}`);
      });

      it("preview fails with the message, and nothing is uploaded or submitted", async () => {
        const { message, output } = await failure((onOutput) => stack.preview({ onOutput }));
        expectNamed(output, c.expected);
        expectNamed(message, c.expected);
        expect(emulator.store.files.size).toBe(0);
        expect(emulator.store.jobs.size).toBe(0);
      });

      if (c.on === "BatchFile") {
        it("up fails the same way, and nothing is uploaded or submitted", async () => {
          const { message } = await failure((onOutput) => stack.up({ onOutput }));
          expectNamed(message, c.expected);
          expect(emulator.store.files.size).toBe(0);
          expect(emulator.store.jobs.size).toBe(0);
          expect([...(await resources(stack)).keys()].filter((k) => k === "questions" || k === "answers")).toEqual([]);
        });
      } else {
        it("up fails the same way and submits nothing; the file, a dependency, is already uploaded (up skips the preview)", async () => {
          const { message } = await failure((onOutput) => stack.up({ onOutput }));
          expectNamed(message, c.expected);
          expect(emulator.store.jobs.size).toBe(0);
          // The Automation API's up is `pulumi up --skip-preview`: the job's inputs reach `check` only once the file's
          // id is known, that is after the file's create. (`pulumi up` on the command line previews first, and stops
          // there.) The file is in state, so the corrected program uploads nothing more.
          expect(uploaded()).toHaveLength(1);
          const state = await resources(stack);
          expect(state.get("questions")?.id).toBe(uploaded()[0].id);
          expect(state.has("answers")).toBe(false);
        });

        it("with the input corrected, up submits one job on the file already uploaded", async () => {
          const fixedStack = await project.stack(programFor(c, { job: true }), emulator.url, `case${i}`);
          const result = await fixedStack.up({ onOutput: project.onOutput });
          expect(result.summary.resourceChanges).toMatchObject({ create: 1, same: 2 });
          expect(uploaded()).toHaveLength(1);
          expect([...emulator.store.jobs.values()].map((j) => j.input_files)).toEqual([[uploaded()[0].id]]);
          expect(result.outputs.jobId.value).toBe([...emulator.store.jobs.keys()][0]);
        });
      }
    });
  }
});
