/**
 * Bad inputs through the real engine: `preview` fails with the provider's message (file and line, or field and
 * allowed values) and nothing reaches Mistral; `up` fails the same way and submits nothing. Each case's program is
 * a project folder of its own, run by the `pulumi` CLI in that folder through the Node.js language host, so the
 * messages checked are the ones users see from the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2EProject, assertDistFresh, chatJsonl, emulatorLib, resources } from "./harness";
import type { Emulator } from "mistral-batch-emulator";

const ENDPOINTS =
  "/v1/chat/completions, /v1/embeddings, /v1/fim/completions, /v1/moderations, /v1/chat/moderations, /v1/ocr, /v1/classifications, /v1/chat/classifications, /v1/conversations, /v1/audio/transcriptions";

/** Line 3 is cut short: not JSON. */
const MALFORMED = `${chatJsonl(2)}{"custom_id": "q2", "body": {"messages": [\n${chatJsonl(2, "q", 3)}`;

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
    expected: [
      `BatchFile resource 'questions': property endpoint value {/v1/chat/complete} has a problem: endpoint is "/v1/chat/complete"; allowed: ${ENDPOINTS}`,
    ],
  },
  {
    name: "timeoutHours 0",
    on: "BatchJob",
    file: { source: "data/questions.jsonl" },
    job: { timeoutHours: 0 },
    expected: [
      "BatchJob resource 'answers': property timeoutHours value {0} has a problem: timeoutHours is 0; allowed: a whole number of hours from 1 to 168 (7 days)",
    ],
  },
  {
    name: "an unknown endpoint on the BatchJob",
    on: "BatchJob",
    file: { source: "data/questions.jsonl" },
    job: { endpoint: "/v1/chat/complete" },
    expected: [
      `BatchJob resource 'answers': property endpoint value {/v1/chat/complete} has a problem: endpoint is "/v1/chat/complete"; allowed: ${ENDPOINTS}`,
    ],
  },
];

describe("bad inputs through the engine", { timeout: 240_000 }, () => {
  const emulators: Emulator[] = [];
  /** Every project folder made, removed at the end. */
  const projects: E2EProject[] = [];

  beforeAll(() => {
    assertDistFresh();
  });

  afterAll(async () => {
    for (const e of emulators) await e.close();
    for (const p of projects) p.cleanup();
  });

  /** The program (`index.js`) of a case: a file and a job on it, as a user writes them; `fixed` drops the job's bad input. */
  const programFor = (c: Case, fixed = { job: false }) => `
const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", ${JSON.stringify(c.file)});
const job = new BatchJob("answers", { inputFiles: [file.id], model: "mistral-small-latest", ...${JSON.stringify(fixed.job ? {} : c.job)} });
module.exports = { fileId: file.id, jobId: job.id };`;

  /** A project folder of its own for a case (each case declares its own program), with both datasets. */
  const projectFor = (c: Case, i: number): E2EProject => {
    const project = new E2EProject(`badinput-case${i}`, {
      files: { "data/questions.jsonl": chatJsonl(3), "data/malformed.jsonl": MALFORMED },
      program: programFor(c),
    });
    projects.push(project);
    return project;
  };

  /** The Automation API's error (its message holds the CLI's whole output) and what the engine printed. */
  const failure = async (
    project: E2EProject,
    run: (onOutput: (t: string) => void) => Promise<unknown>,
  ): Promise<{ message: string; output: string }> => {
    const output: string[] = [];
    const error = await run((t) => {
      output.push(t);
      project.onOutput(t);
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, "the operation should have failed").toBeInstanceOf(Error);
    return { message: (error as Error).message, output: output.join("") };
  };

  const expectNamed = (text: string, expected: Case["expected"]) => {
    for (const e of expected) typeof e === "string" ? expect(text).toContain(e) : expect(text).toMatch(e);
  };

  /**
   * One clear message: the CLI repeats the resource's error (on its progress line, under Diagnostics), but it is the
   * only error, and no stack trace (of the provider, the language host or the program) comes with it.
   */
  const expectOneClearMessage = (text: string) => {
    expect([...new Set(text.match(/error: .*/g))]).toHaveLength(1);
    expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  };

  for (const [i, c] of cases.entries()) {
    describe(c.name, () => {
      let emulator: Emulator;
      let project: E2EProject;
      let stack: Awaited<ReturnType<E2EProject["stack"]>>;
      const uploaded = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");

      beforeAll(async () => {
        emulator = await emulatorLib().startEmulator({ speed: "instant" });
        emulators.push(emulator);
        project = projectFor(c, i);
        stack = await project.stack(emulator.url, `case${i}`);
      });

      it("preview fails with the message, and nothing is uploaded or submitted", async () => {
        const { message, output } = await failure(project, (onOutput) => stack.preview({ onOutput }));
        expectNamed(output, c.expected);
        expectNamed(message, c.expected);
        expectOneClearMessage(output);
        expectOneClearMessage(message);
        expect(emulator.store.files.size).toBe(0);
        expect(emulator.store.jobs.size).toBe(0);
      });

      if (c.on === "BatchFile") {
        it("up fails the same way, and nothing is uploaded or submitted", async () => {
          const { message, output } = await failure(project, (onOutput) => stack.up({ onOutput }));
          expectNamed(message, c.expected);
          expectOneClearMessage(output);
          expectOneClearMessage(message);
          expect(emulator.store.files.size).toBe(0);
          expect(emulator.store.jobs.size).toBe(0);
          expect([...(await resources(stack)).keys()].filter((k) => k === "questions" || k === "answers")).toEqual([]);
        });
      } else {
        it("up fails the same way and submits nothing; the file, a dependency, is already uploaded (up skips the preview)", async () => {
          const { message, output } = await failure(project, (onOutput) => stack.up({ onOutput }));
          expectNamed(message, c.expected);
          expectOneClearMessage(output);
          expectOneClearMessage(message);
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
          project.program(programFor(c, { job: true }));
          const result = await stack.up({ onOutput: project.onOutput });
          expect(result.summary.resourceChanges).toMatchObject({ create: 1, same: 2 });
          expect(uploaded()).toHaveLength(1);
          expect([...emulator.store.jobs.values()].map((j) => j.input_files)).toEqual([[uploaded()[0].id]]);
          expect(result.outputs.jobId.value).toBe([...emulator.store.jobs.keys()][0]);
        });
      }
    });
  }
});
