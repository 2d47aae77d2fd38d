#!/usr/bin/env node
// `npm run build` (and the `prepare` script): a clean build of everything the repository compiles, in dependency
// order. 1. the provider package (tsconfig.json: provider/ to dist/provider/); 2. the emulator package
// (packages/emulator: src/ to its dist/), which imports the provider's contract `pulumi-mistral-batch/api`;
// 3. the repository's tools (tsconfig.tools.json: scripts/ and bench/ to dist/), which use both packages.
// A module removed or turned into a folder must not linger in a dist/ (Node would still load it), so each starts empty.
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
const STEPS = [
  { project: "tsconfig.json", clean: ["dist"] },
  { project: "packages/emulator/tsconfig.json", clean: ["packages/emulator/dist"] },
  { project: "tsconfig.tools.json", clean: [] },
];

/** Builds every step; returns the exit code of the first that fails (0 when all pass). */
function build() {
  for (const step of STEPS) {
    for (const dir of step.clean) fs.rmSync(path.join(root, dir), { recursive: true, force: true });
    const run = spawnSync(process.execPath, [tsc, "-p", step.project], { cwd: root, stdio: "inherit" });
    if (run.status !== 0) return run.status ?? 1;
  }
  return 0;
}

module.exports = { build };
if (require.main === module) process.exit(build());
