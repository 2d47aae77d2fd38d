/**
 * An interrupted `pulumi up`, run as users run it: the `pulumi` CLI in the project's folder, which starts the
 * program (`index.js`) through the Node.js language host. The whole tree under the CLI is killed with SIGKILL at
 * once, as a power cut or a `kill -9` of all of it would: the CLI, the language host `pulumi-language-nodejs` and
 * the program's `node` (`@pulumi/pulumi/cmd/run`), the dynamic-provider host `pulumi-resource-pulumi-nodejs` (a
 * shell script, run by `/bin/sh`) and its `node` (`@pulumi/pulumi/cmd/dynamic-provider`). The kill comes while a
 * BatchJob's create waits for the job it has just submitted, or while a BatchFile's upload has been stored but not
 * yet answered: what the engine has not recorded exists remotely. Then what the README tells a user to run, in this
 * order: `pulumi cancel`, `pulumi up`, `pulumi refresh --clear-pending-creates`. That converges on exactly one job
 * and one file with no pending operation left, a later `up` changes nothing, destroy leaves nothing behind, and no
 * process of the project is left running after the kill or at the end.
 *
 * What this CLI (3.260, file backend, project folder) does after such a kill, as measured here:
 *  - the killed CLI leaves the backend's lock (`.pulumi/locks/<org>/<project>/<stack>/<uuid>.json`): every
 *    operation fails with "the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end
 *    or delete the lock file with `pulumi cancel`.", naming that file, the user@host and the pid of the killed CLI;
 *    `pulumi cancel` (Automation API: `stack.cancel()`) deletes the lock file ("The currently running update for
 *    'dev' has been canceled!");
 *  - the interrupted create stays in the state as a pending operation `{type: "creating"}`;
 *  - `pulumi up` warns "Attempting to deploy or update resources with 1 pending operations from previous
 *    deployment." (listing "<urn>, interrupted while creating", then advice that ends "Note that `pulumi refresh`
 *    will need to be run interactively to clear pending CREATE operations."), and proceeds: it creates the resource
 *    again, and the provider adopts what the killed run left, the job by its `pulumi_idempotency_key`, the file by
 *    its content-addressed name. The pending create survives that successful `up`, and any later one (which warns
 *    again): it is carried over until cleared;
 *  - a non-interactive `pulumi refresh` keeps it too (an interactive one, tried by hand under a terminal, asks
 *    "Options for pending CREATE of <urn>": clear, skip or import);
 *    `pulumi refresh --clear-pending-creates` (`refresh({ clearPendingCreates: true })`) drops it and changes
 *    nothing else.
 * That is what these notes said for 3.259 with inline programs; what differs is the process tree (the program now runs
 * in its own `node` under the language host, not in the process that drives the Automation API).
 *
 * Linux only (processes are found through /proc).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import { alive, descendants, killAll, processTable, processesIn, pulumiChild, type Proc } from "./processes";
import { E2EProject, assertDistFresh, chatJsonl, emulatorLib, resources } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import { testProfile } from "../support/profile";

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// --- processes ---------------------------------------------------------------------------------------------------

const environ = (pid: number): string[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  } catch {
    return [];
  }
};

const stopped = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return /^[TtZ]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return true; // gone
  }
};

/**
 * SIGKILLs `root` and everything under it at once, as a power cut or a `kill -9` of the whole tree would. The tree
 * is frozen first (SIGSTOP, repeated until every process found under `root` is stopped and no new one appears), so
 * nothing in it can start another process, write state or answer a request between the snapshot and the kill; then
 * all of it is killed; waits until they are gone. (processes.ts's killTree kills a snapshot of a running tree: a
 * process started meanwhile, by the CLI, the language host or the program, would escape it.)
 */
async function killTreeAtOnce(root: Proc): Promise<Proc[]> {
  const frozen = new Map<number, Proc>();
  for (let round = 0; round < 500; round++) {
    const found = [root, ...descendants(root.pid)].filter((p) => !frozen.has(p.pid) && alive(p.pid));
    for (const p of found) {
      try {
        process.kill(p.pid, "SIGSTOP");
      } catch {
        // gone meanwhile
      }
      frozen.set(p.pid, p);
    }
    if (!found.length && [...frozen.keys()].every(stopped)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const tree = [...frozen.values()];
  killAll(tree);
  for (let i = 0; i < 100 && tree.some((p) => alive(p.pid)); i++) await new Promise((r) => setTimeout(r, 50));
  return tree;
}

/**
 * Live processes of a project: those running in its folder (processesIn) and those started with its PULUMI_HOME,
 * which every process under the CLI inherits, wherever it runs.
 */
function processesOf(project: E2EProject): Proc[] {
  const inDir = new Set(processesIn(project.dir).map((p) => p.pid));
  const home = `PULUMI_HOME=${project.home}`;
  return processTable().filter(
    (p) => p.pid !== process.pid && alive(p.pid) && (inDir.has(p.pid) || environ(p.pid).includes(home)),
  );
}

/** The engine's processes as the CLI starts them for a project folder: each must be there, started by the one above it. */
function engineTree(tree: Proc[], projectName: string): void {
  const argv0 = (p: Proc) => path.basename(p.cmd.split(" ")[0] ?? "");
  const child = (parent: Proc, what: string, test: (p: Proc) => boolean): Proc => {
    const found = tree.find((p) => p.ppid === parent.pid && test(p));
    expect(found, `${what}, started by ${parent.cmd}, among ${JSON.stringify(tree.map((p) => p.cmd))}`).toBeDefined();
    return found!;
  };
  const cli = tree[0];
  expect(argv0(cli)).toBe("pulumi");
  expect(cli.cmd.split(" ")).toContain("up");
  const languageHost = child(cli, "the language host", (p) => argv0(p) === "pulumi-language-nodejs");
  child(
    languageHost,
    "the program's node",
    (p) =>
      argv0(p) === "node" && p.cmd.includes("/@pulumi/pulumi/cmd/run/") && p.cmd.includes(`--project ${projectName} `),
  );
  const providerHost = child(cli, "the dynamic-provider host", (p) => p.cmd.includes("pulumi-resource-pulumi-nodejs"));
  child(
    providerHost,
    "the dynamic provider's node",
    (p) => argv0(p) === "node" && p.cmd.includes("/@pulumi/pulumi/cmd/dynamic-provider/"),
  );
}

interface PendingOperation {
  type: string;
  urn: string;
}

const pendingOf = (deployment: unknown): PendingOperation[] =>
  ((deployment as { pending_operations?: { type: string; resource: { urn: string } }[] }).pending_operations ?? []).map(
    (op) => ({ type: op.type, urn: op.resource.urn }),
  );

/**
 * What a plain, non-interactive `pulumi refresh` does to the pending operations, seen on a copy of the project's
 * backend: the `pulumi` CLI run directly in the project's folder (project.env()) with PULUMI_BACKEND_URL pointing at
 * the copy, so the stack itself keeps to the README's sequence. The copy shares the emulator's job and file with the
 * real stack, so it is only ever refreshed (which only reads them), never updated or destroyed.
 */
async function pendingAfterPlainRefreshOfACopy(project: E2EProject, stackName = "dev"): Promise<PendingOperation[]> {
  const copy = fs.mkdtempSync(path.join(project.dir, "state-copy-"));
  fs.cpSync(project.stateDir, copy, { recursive: true });
  const env = { ...process.env, ...project.env({ PULUMI_BACKEND_URL: `file://${copy}` }) };
  const run = promisify(execFile);
  const options = { cwd: project.workDir, env, maxBuffer: 64 << 20 };
  const before = project.stateText();
  const refresh = await run(
    "pulumi",
    ["refresh", "--yes", "--skip-preview", "--non-interactive", "--stack", stackName],
    options,
  );
  project.onOutput(refresh.stdout);
  expect(refresh.stdout).toMatch(/Resources:\s+3 unchanged/);
  const exported = await run("pulumi", ["stack", "export", "--stack", stackName], options);
  expect(project.stateText(), "the refresh of the copy left the stack's own backend alone").toBe(before);
  return pendingOf((JSON.parse(exported.stdout) as { deployment: unknown }).deployment);
}

// --- a proxy that can swallow the answer to an upload ------------------------------------------------------------

/**
 * Forwards everything to the emulator. While `holdUploads` is set, an upload reaches the emulator (the file is
 * stored) but its answer is never passed on: the provider is still waiting for it when the CLI is killed.
 */
async function startProxy(target: string) {
  const upstream = new URL(target);
  const held: http.ServerResponse[] = [];
  const state = { holdUploads: false, held };
  const server = http.createServer((req, res) => {
    const hold = state.holdUploads && req.method === "POST" && req.url?.split("?")[0] === "/v1/files";
    const fwd = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (hold) {
          answer.resume();
          held.push(res);
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    fwd.on("error", () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: async () => {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}

// --- the tests ---------------------------------------------------------------------------------------------------

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;

describe("An interrupted `up`", { timeout: 300_000 }, () => {
  let emulator: Emulator;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const projects: E2EProject[] = [];
  const killed: Proc[] = [];

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      clock: "manual",
      speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 },
    });
    proxy = await startProxy(emulator.url);
  });

  afterAll(async () => {
    // Whatever happened: nothing of ours keeps running.
    killAll([...killed, ...projects.flatMap((project) => processesOf(project))]);
    await proxy?.close();
    await emulator?.close();
    for (const project of projects) project.cleanup();
  });

  /** The program, `index.js` of the project's folder: run by the CLI through the Node.js language host. */
  const program = (dataset: string) => `
const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", { source: ${JSON.stringify(dataset)}, endpoint: "/v1/chat/completions" });
const job = new BatchJob("answers", {
  inputFiles: [file.id],
  model: "mistral-small-latest",
  waitForCompletion: { timeoutMinutes: 5, pollIntervalSeconds: 1 },
});
module.exports = { fileId: file.id, jobId: job.id, status: job.status, adopted: job.adopted, fileAdopted: file.adopted };`;

  function newProject(name: string, dataset: string): E2EProject {
    const project = new E2EProject(name, { files: { [dataset]: chatJsonl(5, name) }, program: program(dataset) });
    projects.push(project);
    return project;
  }

  /** Starts `up`, kills the CLI tree once `ready` says so; resolves with the rejected update's error. */
  async function upKilled(
    stack: Stack,
    project: E2EProject,
    ready: () => boolean,
  ): Promise<{ error: unknown; tree: Proc[] }> {
    let outcome: { ok: unknown } | { error: unknown } | undefined;
    const upping = stack.up({ onOutput: project.onOutput }).then(
      (r) => (outcome = { ok: r }),
      (e: unknown) => (outcome = { error: e }),
    );
    const cli = await until("the moment to kill the pulumi CLI", () => {
      if (outcome)
        throw new Error(
          `up ended before it could be interrupted: ${"ok" in outcome ? "it succeeded" : String(outcome.error)}`,
        );
      return ready() && pulumiChild("up");
    });
    const tree = await killTreeAtOnce(cli);
    killed.push(...tree);
    const ended = await upping;
    expect(ended, "the interrupted up must not succeed").not.toHaveProperty("ok");
    return { error: (ended as { error: unknown }).error, tree };
  }

  async function pendingOperations(stack: Stack): Promise<PendingOperation[]> {
    return pendingOf((await stack.exportStack()).deployment);
  }

  /** Runs `op` while the emulator's clock moves (a second every 100 ms), so waiting jobs finish. */
  async function withClockRunning<T>(op: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => void emulator.advance(1000), 100);
    try {
      return await op();
    } finally {
      clearInterval(timer);
    }
  }

  const uploaded = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");

  it("killed while waiting for the job it submitted: cancel, up adopts that job, refresh --clear-pending-creates", async () => {
    const project = newProject("killjob", "data/questions.jsonl");
    const stack = await project.stack(proxy.url);
    const jobsBefore = new Set(emulator.store.jobs.keys());
    const newJobs = () => [...emulator.store.jobs.values()].filter((j) => !jobsBefore.has(j.id));
    const ours = () => uploaded().filter((f) => f.filename.startsWith("questions-"));

    // 1. `up` uploads, submits, and waits for the job (the clock stands still: it stays QUEUED): kill it all there.
    const { error, tree } = await upKilled(stack, project, () => newJobs().length > 0);
    expect(String(error)).toMatch(/SIGKILL/);
    expect(tree.map((p) => path.basename(p.cmd.split(" ")[0]))).toEqual(
      expect.arrayContaining(["pulumi", "pulumi-language-nodejs", "node"]),
    );
    expect(tree.some((p) => p.cmd.includes("pulumi-resource-pulumi-nodejs"))).toBe(true);
    expect(tree.some((p) => p.cmd.includes("dynamic-provider"))).toBe(true);
    engineTree(tree, "killjob");
    expect(tree.filter((p) => alive(p.pid))).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
    expect(processesOf(project)).toEqual([]);
    const [job] = newJobs();
    expect(newJobs()).toHaveLength(1);
    expect(job.status).toBe("QUEUED");
    expect(ours()).toHaveLength(1);
    const [file] = ours();

    // 2. The state: the file is recorded, the job only as a pending create.
    const jobUrn = `urn:pulumi:dev::killjob::pulumi-nodejs:dynamic/mistral/batch:BatchJob::answers`;
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: jobUrn }]);
    let state = await resources(stack);
    expect(state.has("answers")).toBe(false);
    expect(state.get("questions")?.id).toBe(file.id);

    // 3. What a user runs. The killed CLI left the file backend's lock: `up` refuses and names `pulumi cancel`.
    await expect(stack.up({ onOutput: project.onOutput })).rejects.toThrow(
      /the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel/,
    );
    await stack.cancel(); // `pulumi cancel` on a file backend deletes the lock files

    // `pulumi up` (time now passes, so the wait ends): it warns about the pending create and proceeds; the create
    // finds the job by its idempotency key.
    const result = await withClockRunning(() => stack.up({ onOutput: project.onOutput }));
    expect(result.summary.result).toBe("succeeded");
    expect(result.stdout).toMatch(/Attempting to deploy or update resources with 1 pending operations/);
    expect(result.stdout).toContain(`${jobUrn}, interrupted while creating`);
    expect(newJobs().map((j) => j.id)).toEqual([job.id]); // exactly one job: nothing submitted twice
    expect(result.outputs.jobId.value).toBe(job.id);
    expect(result.outputs.adopted.value).toBe(true);
    expect(result.outputs.status.value).toBe("SUCCESS");
    expect(result.stdout).toContain("adopted the job submitted earlier");
    state = await resources(stack);
    expect(state.get("answers")?.id).toBe(job.id);
    expect(state.get("answers")?.outputs).toMatchObject({ jobId: job.id, status: "SUCCESS", adopted: true });
    // This CLI keeps the pending create through a successful `up` (a later `up` would warn again) ...
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: jobUrn }]);
    // ... and so does a non-interactive `pulumi refresh` (only an interactive one offers to clear or import it):
    // seen on a copy of the backend, so the stack itself keeps to the README's sequence.
    expect(await pendingAfterPlainRefreshOfACopy(project)).toEqual([{ type: "creating", urn: jobUrn }]);

    // `pulumi refresh --clear-pending-creates` drops it, and changes nothing else.
    const refreshed = await stack.refresh({ clearPendingCreates: true, onOutput: project.onOutput });
    expect(refreshed.summary.result).toBe("succeeded");
    expect(refreshed.summary.resourceChanges).toEqual({ same: 3 });
    expect(await pendingOperations(stack)).toEqual([]);
    state = await resources(stack);
    expect(state.get("answers")?.id).toBe(job.id);
    expect(state.get("questions")?.id).toBe(file.id);

    // 4. Converged: exactly one job (the one submitted before the kill) and one uploaded file; a later `up` changes nothing.
    expect(newJobs().map((j) => j.id)).toEqual([job.id]);
    expect(ours().map((f) => f.id)).toEqual([file.id]);
    const again = await stack.up({ expectNoChanges: true, onOutput: project.onOutput });
    expect(again.summary.result).toBe("succeeded");
    expect(again.summary.resourceChanges).toEqual({ same: 3 });
    expect(again.stdout).not.toMatch(/pending operations/);
    expect(again.outputs).toMatchObject({
      jobId: { value: job.id },
      fileId: { value: file.id },
      status: { value: "SUCCESS" },
      adopted: { value: true },
    });
    expect(newJobs().map((j) => j.id)).toEqual([job.id]);
    expect(ours().map((f) => f.id)).toEqual([file.id]);
    expect(await pendingOperations(stack)).toEqual([]);

    // 5. Destroy leaves nothing behind: the job ended, the file is deleted, the state is empty, nothing runs.
    expect((await stack.destroy({ onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(emulator.store.jobs.get(job.id)?.status).toBe("SUCCESS");
    expect(newJobs().filter((j) => !["SUCCESS", "CANCELLED"].includes(j.status))).toEqual([]);
    expect(ours()).toEqual([]);
    expect((await resources(stack)).size).toBe(0);
    expect(await pendingOperations(stack)).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
    expect(processesOf(project)).toEqual([]);
  });

  it("killed during the upload (stored, answer not yet back): cancel, up adopts the file, refresh --clear-pending-creates", async () => {
    const project = newProject("killfile", "data/prompts.jsonl");
    const stack = await project.stack(proxy.url);
    const jobsBefore = new Set(emulator.store.jobs.keys());
    const newJobs = () => [...emulator.store.jobs.values()].filter((j) => !jobsBefore.has(j.id));
    const ours = () => uploaded().filter((f) => f.filename.startsWith("prompts-"));

    // 1. The upload reaches the emulator, which stores the file; its answer is held back; the CLI tree is killed.
    proxy.state.holdUploads = true;
    let tree: Proc[];
    try {
      ({ tree } = await upKilled(stack, project, () => ours().length > 0 && proxy.state.held.length > 0));
    } finally {
      proxy.state.holdUploads = false;
    }
    expect(tree.some((p) => p.cmd.includes("dynamic-provider"))).toBe(true);
    engineTree(tree, "killfile");
    expect(tree.filter((p) => alive(p.pid))).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
    expect(processesOf(project)).toEqual([]);
    expect(ours()).toHaveLength(1);
    const [file] = ours();
    expect(newJobs()).toEqual([]); // the job waits for the file's id: never submitted
    const fileUrn = `urn:pulumi:dev::killfile::pulumi-nodejs:dynamic/mistral/batch:BatchFile::questions`;
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: fileUrn }]);
    expect((await resources(stack)).has("questions")).toBe(false);

    // 2. `pulumi cancel`, then `pulumi up` (it warns about the pending operation and proceeds).
    await expect(stack.up({ onOutput: project.onOutput })).rejects.toThrow(/locked[\s\S]*pulumi cancel/);
    await stack.cancel();
    const result = await withClockRunning(() => stack.up({ onOutput: project.onOutput }));
    expect(result.summary.result).toBe("succeeded");
    expect(result.stdout).toMatch(/Attempting to deploy or update resources with 1 pending operations/);
    expect(result.stdout).toContain(`${fileUrn}, interrupted while creating`);
    expect(ours().map((f) => f.id)).toEqual([file.id]); // exactly one file: the upload was adopted, not repeated
    expect(result.outputs.fileId.value).toBe(file.id);
    expect(result.outputs.fileAdopted.value).toBe(true);
    expect(newJobs()).toHaveLength(1);
    expect(newJobs()[0].input_files).toEqual([file.id]);
    expect(result.outputs).toMatchObject({
      jobId: { value: newJobs()[0].id },
      status: { value: "SUCCESS" },
      adopted: { value: false },
    });
    expect((await resources(stack)).get("questions")?.id).toBe(file.id);
    // This CLI keeps the pending create through a successful `up` (a later `up` would warn again) ...
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: fileUrn }]);
    // ... until `pulumi refresh --clear-pending-creates`, which changes nothing else.
    const refreshed = await stack.refresh({ clearPendingCreates: true, onOutput: project.onOutput });
    expect(refreshed.summary.result).toBe("succeeded");
    expect(refreshed.summary.resourceChanges).toEqual({ same: 3 });
    expect(await pendingOperations(stack)).toEqual([]);
    expect((await resources(stack)).get("questions")?.id).toBe(file.id);
    const [job] = newJobs();
    expect((await resources(stack)).get("answers")?.id).toBe(job.id);

    // 3. Converged: one job, one uploaded file; a later `up` changes nothing.
    const again = await stack.up({ expectNoChanges: true, onOutput: project.onOutput });
    expect(again.summary.result).toBe("succeeded");
    expect(again.summary.resourceChanges).toEqual({ same: 3 });
    expect(again.stdout).not.toMatch(/pending operations/);
    expect(again.outputs).toMatchObject({
      fileId: { value: file.id },
      jobId: { value: job.id },
      status: { value: "SUCCESS" },
    });
    expect(ours().map((f) => f.id)).toEqual([file.id]);
    expect(newJobs().map((j) => j.id)).toEqual([job.id]);
    expect(await pendingOperations(stack)).toEqual([]);

    // 4. Destroy leaves nothing behind.
    expect((await stack.destroy({ onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(ours()).toEqual([]);
    expect(newJobs().map((j) => j.status)).toEqual(["SUCCESS"]);
    expect((await resources(stack)).size).toBe(0);
    expect(await pendingOperations(stack)).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
    expect(processesOf(project)).toEqual([]);
  });
});
