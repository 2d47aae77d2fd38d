/**
 * The model check's pure parts (provider/models.ts): the edit distance (fast-check: a metric, and bounded by the
 * length difference and the longer length), the nearest models that serve an endpoint, and the verdicts: known by
 * id or alias, without the endpoint's capability, unknown, fine-tuned.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  editDistance,
  findModel,
  judgeModel,
  nearestModels,
  resolveModelName,
  type ModelInfo,
} from "../../provider/models";

const chat = { completion_chat: true };
const MODELS: ModelInfo[] = [
  { id: "mistral-small-latest", aliases: ["mistral-small-2506"], capabilities: chat, type: "base" },
  { id: "mistral-large-latest", aliases: ["mistral-large-2411"], capabilities: chat, type: "base" },
  { id: "mistral-medium-latest", aliases: ["mistral-medium-2508"], capabilities: chat, type: "base" },
  { id: "codestral-latest", aliases: [], capabilities: { completion_chat: true, completion_fim: true }, type: "base" },
  { id: "mistral-embed", aliases: ["mistral-embed-2312"], capabilities: {}, type: "base" },
  { id: "mistral-ocr-latest", aliases: [], capabilities: { ocr: true }, type: "base" },
  { id: "ft:mistral-small-latest:abc:20250101:1234", aliases: [], capabilities: chat, type: "fine-tuned" },
];

describe("resolveModelName", () => {
  it("gives a name's dated version: by id or alias, itself when dated, the id without one, null when unlisted", () => {
    expect(resolveModelName(MODELS, "mistral-small-latest")).toBe("mistral-small-2506");
    expect(resolveModelName(MODELS, "mistral-small-2506")).toBe("mistral-small-2506");
    expect(resolveModelName(MODELS, "mistral-embed")).toBe("mistral-embed-2312");
    // The real API's form too: the dated card listing the alias.
    const dated: ModelInfo[] = [{ id: "mistral-large-2411", aliases: ["mistral-large-latest"], capabilities: chat }];
    expect(resolveModelName(dated, "mistral-large-latest")).toBe("mistral-large-2411");
    expect(resolveModelName(MODELS, "codestral-latest")).toBe("codestral-latest");
    expect(resolveModelName(MODELS, "nope")).toBeNull();
  });
});

describe("editDistance", () => {
  const word = fc.string({ maxLength: 12 });
  it("is a metric-like distance: zero on itself, symmetric, bounded by lengths, one per single edit", () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b);
        expect(editDistance(a, a)).toBe(0);
        expect(d).toBe(editDistance(b, a));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
    fc.assert(
      fc.property(word, fc.nat(), fc.constantFrom("a", "-", "7"), (a, i, c) => {
        const at = a.length ? i % a.length : 0;
        expect(editDistance(a, a.slice(0, at) + c + a.slice(at))).toBe(1); // insertion
        if (a.length) expect(editDistance(a, a.slice(0, at) + a.slice(at + 1))).toBe(1); // deletion
      }),
    );
  });

  it("counts an adjacent transposition as one edit, and ignores case", () => {
    expect(editDistance("mistral-samll-latest", "mistral-small-latest")).toBe(1);
    expect(editDistance("Mistral-Small-Latest", "mistral-small-latest")).toBe(0);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});

describe("nearestModels", () => {
  it("names the models that serve the endpoint, nearest first, one name per model (an alias when nearer)", () => {
    expect(nearestModels("mistral-smal-latest", MODELS, "/v1/chat/completions")).toEqual([
      "mistral-small-latest",
      "mistral-large-latest",
      "mistral-medium-latest",
    ]);
    expect(nearestModels("mistral-small-2505", MODELS, "/v1/chat/completions")[0]).toBe("mistral-small-2506");
    expect(nearestModels("codestral", MODELS, "/v1/fim/completions")).toEqual(["codestral-latest"]);
    // Embeddings have no capability flag: every model may serve them.
    expect(nearestModels("mistral-embedd", MODELS, "/v1/embeddings", 1)).toEqual(["mistral-embed"]);
  });

  it("never names a model that does not serve the endpoint, nor more than asked", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 5 }), (name, max) => {
        const near = nearestModels(name, MODELS, "/v1/ocr", max);
        expect(near.length).toBeLessThanOrEqual(max);
        for (const n of near) expect(findModel(n, MODELS)?.capabilities.ocr).toBe(true);
      }),
    );
  });
});

describe("judgeModel", () => {
  it("accepts a model by id or alias that serves the endpoint; embeddings: existence only", () => {
    expect(judgeModel("mistral-small-latest", "/v1/chat/completions", MODELS)).toEqual({ ok: true });
    expect(judgeModel("mistral-large-2411", "/v1/chat/completions", MODELS)).toEqual({ ok: true });
    expect(judgeModel("mistral-embed-2312", "/v1/embeddings", MODELS)).toEqual({ ok: true });
    expect(judgeModel("mistral-small-latest", "/v1/embeddings", MODELS)).toEqual({ ok: true });
  });

  it("refuses a typo, naming the value and the nearest models that serve the endpoint", () => {
    expect(judgeModel("mistral-smal-latest", "/v1/chat/completions", MODELS)).toEqual({
      ok: false,
      nearest: ["mistral-small-latest", "mistral-large-latest", "mistral-medium-latest"],
      reason:
        'model is "mistral-smal-latest", which is not a model of this workspace (GET /v1/models, ids and aliases); allowed: a model that serves /v1/chat/completions, nearest: mistral-small-latest, mistral-large-latest, mistral-medium-latest',
    });
  });

  it("refuses a model without the endpoint's capability, naming the capability and models that have it", () => {
    const v = judgeModel("mistral-embed", "/v1/chat/completions", MODELS);
    expect(v).toMatchObject({ ok: false });
    expect(!v.ok && v.reason).toMatch(
      /^model is "mistral-embed", which does not serve \/v1\/chat\/completions \(the models API does not give it the completion_chat capability\); allowed: a model that serves \/v1\/chat\/completions, e\.g\. /,
    );
    expect(judgeModel("mistral-large-latest", "/v1/fim/completions", MODELS)).toMatchObject({
      ok: false,
      nearest: ["codestral-latest"],
    });
  });

  it("a fine-tuned id the list lacks is a warning, not a failure; a listed one passes", () => {
    expect(judgeModel("ft:mistral-small-latest:abc:20250101:1234", "/v1/chat/completions", MODELS)).toEqual({
      ok: true,
    });
    const v = judgeModel("ft:mistral-small-latest:abc:20250101:9999", "/v1/chat/completions", MODELS);
    expect(v).toMatchObject({ ok: true });
    expect("warning" in v && v.warning).toMatch(
      /^the fine-tuned model "ft:mistral-small-latest:abc:20250101:9999" is not in the models list .*\(fine-tuned models listed: ft:mistral-small-latest:abc:20250101:1234\)$/,
    );
  });
});
