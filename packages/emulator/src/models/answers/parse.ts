/**
 * Request parsing helpers shared by the answer makers: each returns the parsed value or a {@link Fail}
 * (the per-request error a malformed body gets: 422 for shape problems).
 */

export type Fail = { ok: false; status_code: number; message: string };
export const fail = (status_code: number, message: string): Fail => ({ ok: false, status_code, message });
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

const ROLES = ["system", "user", "assistant", "tool"] as const;
type Role = (typeof ROLES)[number];
export interface ParsedMessage {
  role: Role;
  text: string;
  prefix: boolean;
}

/** Text of a message `content`: a string, null, or an array of content chunks. Returns an error message on bad input. */
export function contentText(content: unknown, where: string): string | Fail {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content))
    return fail(422, `${where}: must be a string or an array of content chunks (got ${describe(content)})`);
  const parts: string[] = [];
  for (let i = 0; i < content.length; i++) {
    const chunk: unknown = content[i];
    if (!isObject(chunk)) return fail(422, `${where}[${i}]: must be an object (got ${describe(chunk)})`);
    const type = chunk.type ?? "text";
    if (typeof type !== "string") return fail(422, `${where}[${i}].type: must be a string`);
    if (type === "text") {
      if (typeof chunk.text !== "string") return fail(422, `${where}[${i}].text: field required (string)`);
      parts.push(chunk.text);
    } else if (type === "thinking") {
      // reasoning chunks of earlier assistant turns: no visible text
    }
  }
  return parts.join("\n");
}

export function parseMessages(value: unknown, where: string): ParsedMessage[] | Fail {
  if (value === undefined || value === null) return fail(422, `${where}: field required`);
  if (!Array.isArray(value)) return fail(422, `${where}: must be an array of messages (got ${describe(value)})`);
  if (value.length === 0) return fail(422, `${where}: must contain at least one message`);
  const out: ParsedMessage[] = [];
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i];
    const at = `${where}[${i}]`;
    if (!isObject(m)) return fail(422, `${at}: must be an object with role and content (got ${describe(m)})`);
    const role = m.role;
    if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) {
      return fail(422, `${at}.role: must be one of ${ROLES.join(", ")} (got ${JSON.stringify(role ?? null)})`);
    }
    const hasToolCalls = Array.isArray(m.tool_calls) && m.tool_calls.length > 0;
    if (!("content" in m) && !(role === "assistant" && hasToolCalls)) return fail(422, `${at}.content: field required`);
    if (role === "system" && (m.content === null || m.content === undefined))
      return fail(422, `${at}.content: must not be null for a system message`);
    const text = contentText(m.content, `${at}.content`);
    if (typeof text !== "string") return text;
    if (m.prefix !== undefined && typeof m.prefix !== "boolean") return fail(422, `${at}.prefix: must be a boolean`);
    out.push({ role: role as Role, text, prefix: m.prefix === true });
  }
  return out;
}

export function optionalInt(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | null | Fail {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v))
    return fail(422, `body.${field}: must be an integer (got ${JSON.stringify(v)})`);
  if (v < min || v > max) return fail(422, `body.${field}: must be between ${min} and ${max} (got ${v})`);
  return v;
}

export function stopSequences(body: Record<string, unknown>): string[] | Fail {
  const s = body.stop;
  if (s === undefined || s === null) return [];
  if (typeof s === "string") return s ? [s] : [];
  if (Array.isArray(s) && s.every((x) => typeof x === "string")) return (s as string[]).filter(Boolean);
  return fail(422, "body.stop: must be a string or an array of strings");
}

export function stringInputs(value: unknown, where: string): string[] | Fail {
  if (value === undefined || value === null) return fail(422, `${where}: field required`);
  if (typeof value === "string") return [value];
  if (!Array.isArray(value))
    return fail(422, `${where}: must be a string or an array of strings (got ${describe(value)})`);
  if (value.length === 0) return fail(422, `${where}: must not be empty`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") return fail(422, `${where}[${i}]: must be a string (got ${describe(value[i])})`);
  }
  return value as string[];
}

export const isFail = (v: unknown): v is Fail => isObject(v) && v.ok === false;
