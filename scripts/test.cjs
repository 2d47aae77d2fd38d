#!/usr/bin/env node
// `npm test`: builds (scripts/build.cjs), type-checks the tests with the sources (tsconfig.test.json: vitest only
// transpiles them), checks lint and format (Biome), runs vitest (arguments pass through), and ends with the plain
// closing line "N passed, N failed, N skipped" that CI reads, keeping vitest's exit code. A build, type, lint or
// format error ends it early with "0 passed, 1 failed".
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const results = path.join(root, "dist", "vitest-results.json");

// A clean build of both packages and the tools (scripts/build.cjs), the tests' type-check, and the lint and format
// check (Biome, biome.json), which writes nothing: `npm run lint:fix` applies the fixes it can. The three run side
// by side: the type-check reads the sources only (tsconfig.test.json maps the packages to their TypeScript, none of
// dist/), and Biome ignores dist/ (.gitignore), so neither waits for the build: two tsc processes keep both cores busy
// where one after the other left one idle. Each step's output is printed whole once it ends,
// so the three do not interleave; any failure still ends the run with "0 passed, 1 failed".
const steps = [
  [process.execPath, [path.join(__dirname, "build.cjs")]],
  [bin("tsc"), ["-p", "tsconfig.test.json"]],
  [bin("biome"), ["ci", "--error-on-warnings", "."]],
];
const runStep = ([command, argv]) =>
  new Promise((done) => {
    const child = spawn(command, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => out.push(chunk));
    child.on("error", (error) => {
      out.push(Buffer.from(`${command}: ${error.message}\n`));
      done(1);
    });
    child.on("close", (status) => {
      process.stdout.write(Buffer.concat(out));
      done(status ?? 1);
    });
  });

async function main() {
  const statuses = await Promise.all(steps.map(runStep));
  const failed = statuses.find((status) => status !== 0);
  if (failed !== undefined) {
    console.log("0 passed, 1 failed");
    // exitCode, not exit(): a step's output just written to a pipe must still be flushed.
    process.exitCode = failed;
    return;
  }
  runTests();
}

function runTests() {
  fs.rmSync(results, { force: true });
  // Both emulator profiles' projects (vitest.config.mts), unless the arguments name projects themselves.
  const args = process.argv.slice(2);
  const projects = args.some((a) => a === "--project" || a.startsWith("--project="))
    ? []
    : ["--project", "spec", "--project", "observed"];
  const run = spawnSync(
    bin("vitest"),
    ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...projects, ...args],
    { cwd: root, stdio: "inherit" },
  );
  let code = run.status ?? 1;
  if (fs.existsSync(results)) {
    const r = JSON.parse(fs.readFileSync(results, "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
    if (r.numTotalTests === 0) code = code || 1;
  } else {
    console.log("\n0 passed, 1 failed");
    code = code || 1;
  }
  process.exit(code);
}

main();
