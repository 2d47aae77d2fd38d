/**
 * An interrupted `pulumi up`: the `pulumi` process and everything under it (the dynamic-provider host
 * `pulumi-resource-pulumi-nodejs` and its `node`) are killed with SIGKILL while a BatchJob's create waits for the
 * job it has just submitted, or while a BatchFile's upload has been stored but not yet answered: what the engine
 * has not recorded exists remotely. What a user then runs converges on exactly one job and one file, and destroy
 * leaves nothing behind.
 *
 * What this CLI (3.259, file backend) does after such a kill, and so what a user must run:
 *  - the killed CLI leaves the backend's lock: every operation fails with "the stack is currently locked by 1
 *    lock(s) ... `pulumi cancel`"; `pulumi cancel` (Automation API: `stack.cancel()`) deletes the lock files;
 *  - the interrupted create stays in the state as a pending operation `{type: "creating"}`; a non-interactive
 *    `pulumi refresh` keeps it, `pulumi refresh --clear-pending-creates` (`refresh({ clearPendingCreates: true })`)
 *    drops it; `pulumi up` warns about it and proceeds, and keeps it (pending creates are carried over until cleared);
 *  - either way the next `up` creates the resource again, and the provider adopts what the killed run left:
 *    the job by its `pulumi_idempotency_key`, the file by its content-addressed name.
 *
 * Linux only (processes are found through /proc).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { alive, killAll, killTree, processesIn, pulumiChild, type Proc } from "./processes";
import { E2EProject, assertDistFresh, chatJsonl, emulatorLib, lib, resources } from "./harness";
import type { Emulator } from "../../emulator";

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
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
    const fwd = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (hold) {
        answer.resume();
        held.push(res);
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
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
    emulator = await emulatorLib().startEmulator({ clock: "manual", speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 } });
    proxy = await startProxy(emulator.url);
  });

  afterAll(async () => {
    // Whatever happened: nothing of ours keeps running.
    killAll([...killed, ...projects.flatMap((project) => processesIn(project.dir))]);
    await proxy?.close();
    await emulator?.close();
    for (const project of projects) project.cleanup();
  });

  const program = (dataset: string) => async () => {
    const { BatchFile, BatchJob } = lib();
    const file = new BatchFile("questions", { source: dataset, endpoint: "/v1/chat/completions" });
    const job = new BatchJob("answers", {
      inputFiles: [file.id],
      model: "mistral-small-latest",
      waitForCompletion: { timeoutMinutes: 5, pollIntervalSeconds: 1 },
    });
    return { fileId: file.id, jobId: job.id, status: job.status, adopted: job.adopted, fileAdopted: file.adopted };
  };

  function newProject(name: string, dataset: string): E2EProject {
    const project = new E2EProject(name, { files: { [dataset]: chatJsonl(5, name) } });
    projects.push(project);
    return project;
  }

  /** Starts `up`, kills the CLI tree once `ready` says so; resolves with the rejected update's error. */
  async function upKilled(stack: Stack, project: E2EProject, ready: () => boolean): Promise<{ error: unknown; tree: Proc[] }> {
    let outcome: { ok: unknown } | { error: unknown } | undefined;
    const upping = stack.up({ onOutput: project.onOutput }).then(
      (r) => (outcome = { ok: r }),
      (e: unknown) => (outcome = { error: e }),
    );
    const cli = await until("the moment to kill the pulumi CLI", () => {
      if (outcome) throw new Error(`up ended before it could be interrupted: ${"ok" in outcome ? "it succeeded" : String(outcome.error)}`);
      return ready() && pulumiChild("up");
    });
    const tree = await killTree(cli);
    killed.push(...tree);
    const ended = await upping;
    expect(ended, "the interrupted up must not succeed").not.toHaveProperty("ok");
    return { error: (ended as { error: unknown }).error, tree };
  }

  async function pendingOperations(stack: Stack): Promise<{ type: string; urn: string }[]> {
    const deployment = (await stack.exportStack()).deployment as { pending_operations?: { type: string; resource: { urn: string } }[] };
    return (deployment.pending_operations ?? []).map((op) => ({ type: op.type, urn: op.resource.urn }));
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

  it("killed while waiting for the job it submitted: cancel, refresh --clear-pending-creates, then up adopts that job", async () => {
    const project = newProject("killjob", "data/questions.jsonl");
    const stack = await project.stack(program("data/questions.jsonl"), proxy.url);
    const jobsBefore = new Set(emulator.store.jobs.keys());
    const newJobs = () => [...emulator.store.jobs.values()].filter((j) => !jobsBefore.has(j.id));

    // 1. `up` uploads, submits, and waits for the job (the clock stands still: it stays QUEUED): kill it there.
    const { error, tree } = await upKilled(stack, project, () => newJobs().length > 0);
    expect(String(error)).toMatch(/SIGKILL/);
    expect(tree.map((p) => path.basename(p.cmd.split(" ")[0]))).toEqual(expect.arrayContaining(["pulumi", "node"]));
    expect(tree.some((p) => p.cmd.includes("pulumi-resource-pulumi-nodejs"))).toBe(true);
    expect(tree.some((p) => p.cmd.includes("dynamic-provider"))).toBe(true);
    expect(tree.filter((p) => alive(p.pid))).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
    const [job] = newJobs();
    expect(newJobs()).toHaveLength(1);
    expect(job.status).toBe("QUEUED");

    // 2. The state: the file is recorded, the job only as a pending create.
    const jobUrn = `urn:pulumi:dev::killjob::pulumi-nodejs:dynamic/mistral/batch:BatchJob::answers`;
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: jobUrn }]);
    let state = await resources(stack);
    expect(state.has("answers")).toBe(false);
    expect(state.get("questions")?.id).toBe(uploaded().find((f) => f.filename.startsWith("questions-"))?.id);

    // 3. What a user runs. The killed CLI left the file backend's lock: `up` refuses and names `pulumi cancel`.
    await expect(stack.up({ onOutput: project.onOutput })).rejects.toThrow(/the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel/);
    await stack.cancel(); // `pulumi cancel` on a file backend deletes the lock files
    // A non-interactive refresh keeps the pending create (only an interactive one offers to clear or import it) ...
    expect((await stack.refresh({ onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: jobUrn }]);
    // ... `pulumi refresh --clear-pending-creates` drops it.
    expect((await stack.refresh({ clearPendingCreates: true, onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(await pendingOperations(stack)).toEqual([]);
    expect((await resources(stack)).has("answers")).toBe(false);

    // 4. The next `up` (time now passes, so the wait ends): the create finds the job by its idempotency key.
    const result = await withClockRunning(() => stack.up({ onOutput: project.onOutput }));
    expect(result.summary.result).toBe("succeeded");
    expect(newJobs().map((j) => j.id)).toEqual([job.id]); // exactly one job: nothing submitted twice
    expect(result.outputs.jobId.value).toBe(job.id);
    expect(result.outputs.adopted.value).toBe(true);
    expect(result.outputs.status.value).toBe("SUCCESS");
    expect(result.stdout).toContain("adopted the job submitted earlier");
    state = await resources(stack);
    expect(state.get("answers")?.id).toBe(job.id);
    expect(state.get("answers")?.outputs).toMatchObject({ jobId: job.id, status: "SUCCESS", adopted: true });
    expect(await pendingOperations(stack)).toEqual([]);

    // 5. Destroy leaves nothing behind: the job ended, the file is deleted, the state is empty.
    expect((await stack.destroy({ onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(emulator.store.jobs.get(job.id)?.status).toBe("SUCCESS");
    expect(newJobs().filter((j) => !["SUCCESS", "CANCELLED"].includes(j.status))).toEqual([]);
    expect(uploaded().filter((f) => f.filename.startsWith("questions-"))).toEqual([]);
    expect((await resources(stack)).size).toBe(0);
    expect(await pendingOperations(stack)).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
  });

  it("killed during the upload (stored, answer not yet back): cancel, then up adopts the file; --clear-pending-creates tidies the state", async () => {
    const project = newProject("killfile", "data/prompts.jsonl");
    const stack = await project.stack(program("data/prompts.jsonl"), proxy.url);
    const jobsBefore = new Set(emulator.store.jobs.keys());
    const newJobs = () => [...emulator.store.jobs.values()].filter((j) => !jobsBefore.has(j.id));
    const ours = () => uploaded().filter((f) => f.filename.startsWith("prompts-"));

    // 1. The upload reaches the emulator, which stores the file; its answer is held back; the CLI is killed.
    proxy.state.holdUploads = true;
    let tree: Proc[];
    try {
      ({ tree } = await upKilled(stack, project, () => ours().length > 0 && proxy.state.held.length > 0));
    } finally {
      proxy.state.holdUploads = false;
    }
    expect(tree.some((p) => p.cmd.includes("dynamic-provider"))).toBe(true);
    expect(tree.filter((p) => alive(p.pid))).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
    expect(ours()).toHaveLength(1);
    const [file] = ours();
    expect(newJobs()).toEqual([]); // the job waits for the file's id: never submitted
    const fileUrn = `urn:pulumi:dev::killfile::pulumi-nodejs:dynamic/mistral/batch:BatchFile::questions`;
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: fileUrn }]);
    expect((await resources(stack)).has("questions")).toBe(false);

    // 2. `pulumi cancel`, then straight to the next `up` (it warns about the pending operation and proceeds).
    await expect(stack.up({ onOutput: project.onOutput })).rejects.toThrow(/locked[\s\S]*pulumi cancel/);
    await stack.cancel();
    const result = await withClockRunning(() => stack.up({ onOutput: project.onOutput }));
    expect(result.summary.result).toBe("succeeded");
    expect(result.stdout).toMatch(/Attempting to deploy or update resources with 1 pending operations/);
    expect(ours().map((f) => f.id)).toEqual([file.id]); // exactly one file: the upload was adopted, not repeated
    expect(result.outputs.fileId.value).toBe(file.id);
    expect(result.outputs.fileAdopted.value).toBe(true);
    expect(newJobs()).toHaveLength(1);
    expect(newJobs()[0].input_files).toEqual([file.id]);
    expect(result.outputs).toMatchObject({ jobId: { value: newJobs()[0].id }, status: { value: "SUCCESS" }, adopted: { value: false } });
    expect((await resources(stack)).get("questions")?.id).toBe(file.id);
    // This CLI keeps the pending create through a successful `up` (it warns again on every run) ...
    expect(await pendingOperations(stack)).toEqual([{ type: "creating", urn: fileUrn }]);
    // ... until `pulumi refresh --clear-pending-creates`, which changes nothing else.
    expect((await stack.refresh({ clearPendingCreates: true, onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(await pendingOperations(stack)).toEqual([]);
    expect((await resources(stack)).get("questions")?.id).toBe(file.id);

    // 3. Destroy leaves nothing behind.
    expect((await stack.destroy({ onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(ours()).toEqual([]);
    expect(newJobs().map((j) => j.status)).toEqual(["SUCCESS"]);
    expect((await resources(stack)).size).toBe(0);
    expect(await pendingOperations(stack)).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
