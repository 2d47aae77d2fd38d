#!/usr/bin/env node
// Part of `npm run build`: copies the examples' data files next to their compiled programs in dist/examples/.
const fs = require("node:fs");
const path = require("node:path");
const root = path.resolve(__dirname, "..");
for (const name of fs.readdirSync(path.join(root, "examples"))) {
  const from = path.join(root, "examples", name);
  if (!fs.statSync(from).isDirectory()) continue;
  for (const file of fs.readdirSync(from)) {
    if (!/\.(jsonl|yaml)$/.test(file)) continue;
    const to = path.join(root, "dist/examples", name, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(from, file), to);
  }
}
