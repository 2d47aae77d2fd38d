/**
 * Requests addressed by their content. A request's key is a hash of its body (as sent: the model's overrides merged
 * in); its address is `<custom_id>#<key>`, the custom_id a RequestSet uploads, so every result line says which
 * content it answers and results can be recovered from Mistral's files with no other record. The custom_id stays in
 * the address: two items with identical bodies stay two samples. The model and the endpoint are not in the key: a
 * RequestSet runs one model on one endpoint, and changing either replaces it (a new history).
 */
import { hash } from "node:crypto";
import { canonicalJson } from "../unknown";

/** Hex digits of a request key: 64 bits, so that 10^6 requests collide with odds of about 3 in 10^8. */
export const KEY_HEX_DIGITS = 16;

const ADDRESS = new RegExp(`^(.*)#([0-9a-f]{${KEY_HEX_DIGITS}})$`, "s");

/**
 * The key of a request body: the first KEY_HEX_DIGITS hex digits of the SHA-256 of its canonical JSON (one-shot
 * `crypto.hash`: a Hash object per request cost as much as the digest).
 */
export function requestKey(body: unknown): string {
  return hash("sha256", canonicalJson(body), "hex").slice(0, KEY_HEX_DIGITS);
}

/** The uploaded custom_id of a request: `<custom_id>#<key>`. */
export function addressOf(customId: string, key: string): string {
  return `${customId}#${key}`;
}

/** The custom_id and key of an address, or undefined for an id that is not one (a line written by someone else). */
export function parseAddress(address: string): { customId: string; key: string } | undefined {
  const m = ADDRESS.exec(address);
  return m ? { customId: m[1] ?? "", key: m[2] ?? "" } : undefined;
}
