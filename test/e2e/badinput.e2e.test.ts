/**
 * Bad inputs through the real engine: `preview` fails with the provider's message (file and line, or field and
 * allowed values) and nothing reaches Mistral; `up` fails the same way and submits nothing. Each case's program is
 * a project folder of its own, run by the `pulumi` CLI in that folder through the Node.js language host, so the
 * messages checked are the ones users see from the CLI.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2EProject, assertDistFresh, chatJsonl, emulatorLib, resources } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import { testProfile } from "../support/profile";

const ENDPOINTS =
  "/v1/chat/completions, /v1/embeddings, /v1/fim/completions, /v1/moderations, /v1/chat/moderations, /v1/ocr, /v1/classifications, /v1/chat/classifications, /v1/conversations, /v1/audio/transcriptions";

/** Line 2 holds "é" as the one Latin-1 byte 0xE9, not UTF-8. */
const LATIN1 = Buffer.concat([
  Buffer.from(chatJsonl(1)),
  Buffer.from(
    `${JSON.stringify({ custom_id: "q1", body: { messages: [{ role: "user", content: "caf\u00e9?" }] } })}\n`,
    "latin1",
  ),
]);
const LATIN1_AT = LATIN1.indexOf(0xe9);
/** A request line of 129 MiB without a newline: above the line cap (128 MiB), below Mistral's file limit. */
const LONG_LINE_BYTES = 129 * 1024 * 1024;

/** Line 3 is cut short: not JSON. */
const MALFORMED = `${chatJsonl(2)}{"custom_id": "q2", "body": {"messages": [\n${chatJsonl(2, "q", 3)}`;

interface Case {
  name: string;
  /** Where the problem is: a BatchFile's is found before anything is uploaded, a BatchJob's once its inputs are known. */
  on: "BatchFile" | "BatchJob";
  file: { source: string; endpoint?: string };
  job: { timeoutHours?: number; endpoint?: string; model?: string };
  /** Files of bytes (not text) the case adds to the program's folder. */
  binary?: () => Record<string, Buffer>;
  /** What the engine's output must say. */
  expected: (string | RegExp)[];
  /**
   * Only `pulumi preview` is run: a check of the same resource kind whose `up` path (and its correction) the other
   * cases already drive through the engine; the check itself is what is new.
   */
  previewOnly?: boolean;
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
    previewOnly: true,
    on: "BatchFile",
    file: { source: "data/questions.jsonl", endpoint: "/v1/chat/complete" },
    job: {},
    expected: [
      `BatchFile resource 'questions': property endpoint value {/v1/chat/complete} has a problem: endpoint is "/v1/chat/complete"; allowed: ${ENDPOINTS}`,
    ],
  },
  {
    name: "bytes that are not UTF-8 (a Latin-1 é)",
    previewOnly: true,
    on: "BatchFile",
    file: { source: "data/latin1.jsonl", endpoint: "/v1/chat/completions" },
    job: {},
    binary: () => ({ "data/latin1.jsonl": LATIN1 }),
    expected: [
      "BatchFile resource 'questions': property source value {data/latin1.jsonl} has a problem",
      `data/latin1.jsonl line 2: (line) is not UTF-8: bytes 0xE9 0x3F at byte offset ${LATIN1_AT} of the file (byte ${LATIN1_AT - chatJsonl(1).length + 1} of the line); expected UTF-8 text`,
    ],
  },
  {
    name: "a file without a newline, its one line above the line cap",
    previewOnly: true,
    on: "BatchFile",
    file: { source: "data/one-line.jsonl" },
    job: {},
    binary: () => ({ "data/one-line.jsonl": Buffer.alloc(LONG_LINE_BYTES, "a") }),
    expected: [
      "BatchFile resource 'questions': property source value {data/one-line.jsonl} has a problem",
      `data/one-line.jsonl line 1: (line) is ${LONG_LINE_BYTES} bytes long (from byte offset 0 of the file, which has no newline); expected one request per line, each at most 134217728 bytes (128 MiB)`,
    ],
  },
  {
    name: "a model name with a typo",
    previewOnly: true,
    on: "BatchJob",
    file: { source: "data/questions.jsonl" },
    job: { model: "mistral-smal-latest" },
    expected: [
      "BatchJob resource 'answers': property model value {mistral-smal-latest} has a problem: model is \"mistral-smal-latest\", which is not a model of this workspace (GET /v1/models, ids and aliases); allowed: a model that serves /v1/chat/completions, nearest: mistral-small-latest",
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
    previewOnly: true,
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
    for (const [name, bytes] of Object.entries(c.binary?.() ?? {})) {
      fs.mkdirSync(path.dirname(path.join(project.workDir, name)), { recursive: true });
      fs.writeFileSync(path.join(project.workDir, name), bytes);
    }
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
        emulator = await emulatorLib().startEmulator({
          profile: testProfile(),
          speed: "instant",
        });
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

      if (c.previewOnly) return;
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

/**
 * Evaluation arguments that cannot be planned: the program fails at `preview` with one message naming the argument,
 * the value and what is allowed (a `pulumi.RunError`: the language host prints it without a stack trace), before
 * any resource is registered, so nothing is uploaded or submitted.
 */
interface EvaluationCase {
  name: string;
  args: string;
  expected: (string | RegExp)[];
}

const evaluationCases: EvaluationCase[] = [
  {
    name: "no models",
    args: `{ dataset: "data/questions.jsonl", models: [] }`,
    expected: [
      'Evaluation "ev": models is []; expected a non-empty list of models, e.g. ["mistral-small-latest"] or [{ name: "mistral-small-latest", label: "small" }]',
    ],
  },
  {
    name: "a model listed twice",
    args: `{ dataset: "data/questions.jsonl", models: ["mistral-small-latest", "mistral-small-latest"] }`,
    expected: [
      'Evaluation "ev": models[1] is "mistral-small-latest", the run "mistral-small-latest" again (models[0]); each run needs its own label',
    ],
  },
  {
    name: "a dataset file that does not exist",
    args: `{ dataset: "data/missing.jsonl", models: ["mistral-small-latest"] }`,
    expected: [
      /Evaluation "ev": dataset is "data\/missing\.jsonl", which does not exist \(resolved to \/.*\/data\/missing\.jsonl\); expected the path of a JSONL file/,
    ],
  },
  {
    name: "a dataset line that is not JSON",
    args: `{ dataset: "data/malformed.jsonl", models: ["mistral-small-latest"] }`,
    expected: [
      /Evaluation "ev": dataset data\/malformed\.jsonl line 3: \(line\) is "\{\\"custom_id\\": \\"q2\\", .*; expected valid JSON \(/,
    ],
  },
];

describe("bad Evaluation arguments through the engine", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  const projects: E2EProject[] = [];

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: "instant",
    });
  });

  afterAll(async () => {
    await emulator?.close();
    for (const p of projects) p.cleanup();
  });

  for (const [i, c] of evaluationCases.entries()) {
    it(`${c.name}: preview fails with one message and no stack trace; nothing is uploaded or registered`, async () => {
      const project = new E2EProject(`badeval-case${i}`, {
        files: { "data/questions.jsonl": chatJsonl(3), "data/malformed.jsonl": MALFORMED },
        program: `
const { Evaluation } = require("pulumi-mistral-batch");
const ev = new Evaluation("ev", ${c.args});
module.exports = { estimates: ev.estimates };`,
      });
      projects.push(project);
      const stack = await project.stack(emulator.url, `eval${i}`);
      const output: string[] = [];
      const error = await stack
        .preview({
          onOutput: (t) => {
            output.push(t);
            project.onOutput(t);
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error, "the preview should have failed").toBeInstanceOf(Error);
      const text = output.join("");
      for (const e of c.expected) typeof e === "string" ? expect(text).toContain(e) : expect(text).toMatch(e);
      expect([...new Set(text.match(/error: .*/g))]).toHaveLength(1);
      expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(text).not.toMatch(/unhandled exception/);
      expect(emulator.store.files.size).toBe(0);
      expect(emulator.store.jobs.size).toBe(0);
      expect(fs.existsSync(path.join(project.workDir, ".mistral-eval"))).toBe(false);
    });
  }
});
