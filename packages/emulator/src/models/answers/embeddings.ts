/**
 * Embeddings: unit vectors by feature hashing of words (texts sharing words are similar) plus text-specific
 * noise; `output_dimension` only for models that allow it.
 */
import type { ModelSpec } from "../catalogue";
import { estimateTokens, fnv1a, prng } from "../hashing";
import { hexId, usage, type Handler } from "./common";
import { fail, isFail, optionalInt, stringInputs } from "./parse";

function embeddingVector(model: ModelSpec, text: string, dim: number): number[] {
  // Feature hashing of lower-cased words (so texts sharing words are similar) plus text-specific noise.
  const v = new Float64Array(dim);
  const rnd = prng(`${model.id}\u0000emb\u0000${text}`);
  for (let i = 0; i < dim; i++) v[i] = (rnd() - 0.5) * 0.3;
  const modelSeed = fnv1a(model.id);
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  for (const w of words) {
    let h = fnv1a(w, modelSeed);
    for (let k = 0; k < 8; k++) {
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
      h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
      h = (h ^ (h >>> 15)) >>> 0;
      v[h % dim] += h & 0x80000000 ? 1 : -1;
    }
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm) || 1;
  const out = new Array<number>(dim);
  for (let i = 0; i < dim; i++) out[i] = Math.round((v[i] / norm) * 1e6) / 1e6;
  return out;
}

export const embeddings: Handler = (body, model) => {
  const inputs = stringInputs(body.input, "body.input");
  if (isFail(inputs)) return inputs;
  const base = model.embeddingDimensions ?? 1024;
  let dim = base;
  const od = optionalInt(body, "output_dimension", 1);
  if (isFail(od)) return od;
  if (od !== null && od !== base) {
    if (!model.maxOutputDimension)
      return fail(400, `Model ${model.id} does not support output_dimension (its embeddings have ${base} dimensions)`);
    if (od > model.maxOutputDimension)
      return fail(
        422,
        `body.output_dimension: must be at most ${model.maxOutputDimension} for ${model.id} (got ${od})`,
      );
    dim = od;
  }
  for (const [field, allowed] of [
    ["output_dtype", ["float", "int8", "uint8", "binary", "ubinary"]],
    ["encoding_format", ["float", "base64"]],
  ] as const) {
    const v = body[field];
    if (v === undefined || v === null || v === "float") continue;
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      return fail(422, `body.${field}: must be one of ${allowed.join(", ")} (got ${JSON.stringify(v)})`);
    }
    return fail(400, `body.${field}: '${v}' is not supported by this emulator; only 'float' is`);
  }
  return ({ model, seed }) => {
    let tokens = 0;
    const data = inputs.map((text, index) => {
      tokens += estimateTokens(text);
      return { object: "embedding", embedding: embeddingVector(model, text, dim), index };
    });
    return { id: hexId(seed, "emb"), object: "list", model: model.id, data, usage: usage(tokens, 0) };
  };
};
