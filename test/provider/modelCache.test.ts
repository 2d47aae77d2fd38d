import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  MODEL_CACHE_ENV,
  MODEL_CACHE_TTL_MS,
  modelCacheFile,
  readModelCache,
  writeModelCache,
} from "../../provider/modelCache";

const dirs: string[] = [];
const temp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-models-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const MODELS = [{ id: "mistral-small-latest", aliases: ["small"], capabilities: { completion_chat: true } }];

describe("modelCacheFile", () => {
  it("one file per server and key, named without the key; the directory as the environment says, or none", () => {
    const dir = temp();
    const env = { [MODEL_CACHE_ENV]: dir };
    const a = modelCacheFile("https://api.mistral.ai", "sk-one", env);
    expect(a).toMatch(new RegExp(`^${dir}/[0-9a-f]{32}\\.json$`));
    expect(a).not.toContain("sk-one");
    expect(modelCacheFile("https://api.mistral.ai", "sk-two", env)).not.toBe(a);
    expect(modelCacheFile("http://127.0.0.1:4010", "sk-one", env)).not.toBe(a);
    expect(modelCacheFile("https://api.mistral.ai", "sk-one", env)).toBe(a);
    for (const off of ["off", "0", "false", "none"])
      expect(modelCacheFile("https://api.mistral.ai", "sk-one", { [MODEL_CACHE_ENV]: off })).toBeUndefined();
    const project = temp();
    fs.mkdirSync(path.join(project, "node_modules"));
    expect(modelCacheFile("u", "k", {}, project)).toMatch(
      new RegExp(`^${project}/node_modules/\\.cache/pulumi-mistral-batch/models/`),
    );
  });
});

describe("readModelCache / writeModelCache", () => {
  it("a copy is used for MODEL_CACHE_TTL_MS after it was read, not after, and not from the future", () => {
    const file = path.join(temp(), "sub", "m.json");
    const t = 1_800_000_000_000;
    expect(writeModelCache(file, MODELS, t)).toBe(true);
    expect(readModelCache(file, t)).toEqual(MODELS);
    expect(readModelCache(file, t + MODEL_CACHE_TTL_MS - 1)).toEqual(MODELS);
    expect(readModelCache(file, t + MODEL_CACHE_TTL_MS)).toBeUndefined();
    expect(readModelCache(file, t - 1)).toBeUndefined();
    expect(fs.readdirSync(path.dirname(file))).toEqual(["m.json"]); // no tmp file left
  });

  it("none, corrupt, another format or cards without the fields read as no copy; an unwritable directory is no error", () => {
    const dir = temp();
    const file = path.join(dir, "m.json");
    expect(readModelCache(file)).toBeUndefined();
    fs.writeFileSync(file, "{not json");
    expect(readModelCache(file)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ format: 99, readAt: Date.now(), models: MODELS }));
    expect(readModelCache(file)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ format: 1, readAt: Date.now(), models: [{ id: 3 }, ...MODELS] }));
    expect(readModelCache(file)).toEqual(MODELS);
    const blocked = path.join(dir, "a-file");
    fs.writeFileSync(blocked, "");
    expect(writeModelCache(path.join(blocked, "m.json"), MODELS)).toBe(false);
  });
});
