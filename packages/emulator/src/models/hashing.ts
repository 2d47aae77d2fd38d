/**
 * Hashing and pseudo-randomness for deterministic answers: every "random" choice of a fake model derives from
 * a hash of the request, so the same request always gets the same answer. Also the rough token estimate.
 */
import { hash } from "node:crypto";

/** The SHA-256 of `text` (one-shot `crypto.hash`, as hex: twice as fast per request as a Hash object here). */
export function sha256(text: string): Buffer {
  return Buffer.from(hash("sha256", text, "hex"), "hex");
}

/** Deterministic number in [0, 1) from a string. */
export function unitHash(text: string): number {
  return sha256(text).readUIntBE(0, 6) / 2 ** 48;
}

/** Small fast PRNG (sfc32), seeded from a sha256. */
export function prng(seedText: string): () => number {
  const h = sha256(seedText);
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** FNV-1a, 32 bits: cheap hash for per-word embedding features. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Rough token count: ceil(chars / 4); 0 for the empty string, at least 1 otherwise. */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  return Math.max(1, Math.ceil(text.length / 4));
}
