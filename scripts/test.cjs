#!/usr/bin/env node
// `npm test`: builds (scripts/build.cjs), type-checks the tests with the sources (tsconfig.test.json: vitest only
// transpiles them), checks lint and format (Biome), runs vitest (arguments pass through), and ends with the plain
// closing line "N passed, N failed, N skipped" that CI reads, keeping vitest's exit code. A build, type, lint or
// format error ends it early with "0 passed, 1 failed".
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const results = path.join(root, "dist", "vitest-results.json");

// A clean build of both packages and the tools (scripts/build.cjs), the tests' type-check, then the lint and format
// check (Biome, biome.json), which writes nothing: `npm run lint:fix` applies the fixes it can.
const { build } = require("./build.cjs");
const steps = [
  build,
  () => spawnSync(bin("tsc"), ["-p", "tsconfig.test.json"], { cwd: root, stdio: "inherit" }).status,
  () => spawnSync(bin("biome"), ["ci", "--error-on-warnings", "."], { cwd: root, stdio: "inherit" }).status,
];
for (const step of steps) {
  const status = step();
  if (status !== 0) {
    console.log("0 passed, 1 failed");
    process.exit(status ?? 1);
  }
}
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
