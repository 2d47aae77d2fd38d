/**
 * What a batch request line must look like, per endpoint: checked before anything is uploaded or spent.
 * Pure functions; each problem names the field, the value received and what is allowed.
 */
import type { ApiEndpoint } from "./api";

export { API_ENDPOINTS, isApiEndpoint, type ApiEndpoint } from "./api";

export interface FieldProblem {
  /** Path of the field, e.g. `body.messages[0].role`. */
  field: string;
  /** Short rendering of the value received. */
  received: string;
  /** What is allowed instead. */
  allowed: string;
}

const ROLES = ["system", "user", "assistant", "tool"];

/** Renders a value for an error message: JSON, cut to a readable length. */
export function show(value: unknown, max = 60): string {
  if (value === undefined) return "missing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === "string" && v.length > 0;

function problem(field: string, value: unknown, allowed: string): FieldProblem {
  return { field, received: show(value), allowed };
}

function checkMessages(value: unknown, field: string): FieldProblem | null {
  if (!Array.isArray(value) || value.length === 0) {
    return problem(field, value, "a non-empty array of messages ({ role, content })");
  }
  for (let i = 0; i < value.length; i++) {
    const m = value[i];
    const at = `${field}[${i}]`;
    if (!isObject(m)) return problem(at, m, "an object { role, content }");
    if (!ROLES.includes(m.role as string)) return problem(`${at}.role`, m.role, ROLES.map((r) => `"${r}"`).join(", "));
    const hasToolCalls = m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length > 0;
    if (!hasToolCalls && !(typeof m.content === "string" || Array.isArray(m.content))) {
      return problem(`${at}.content`, m.content, "a string or an array of content chunks");
    }
  }
  return null;
}

function checkStringInput(value: unknown, field: string): FieldProblem | null {
  if (isNonEmptyString(value)) return null;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) return null;
  return problem(field, value, "a non-empty string or a non-empty array of strings");
}

const checks: Record<ApiEndpoint, (body: Record<string, unknown>) => FieldProblem | null> = {
  "/v1/chat/completions": (b) => checkMessages(b.messages, "body.messages"),
  "/v1/embeddings": (b) => checkStringInput(b.input, "body.input"),
  "/v1/fim/completions": (b) =>
    typeof b.prompt === "string" ? null : problem("body.prompt", b.prompt, "a string (the code before the cursor)"),
  "/v1/moderations": (b) => checkStringInput(b.input, "body.input"),
  "/v1/chat/moderations": (b) => {
    if (Array.isArray(b.input) && b.input.length > 0 && b.input.every(Array.isArray)) {
      for (let i = 0; i < b.input.length; i++) {
        const p = checkMessages(b.input[i], `body.input[${i}]`);
        if (p) return p;
      }
      return null;
    }
    return checkMessages(b.input, "body.input");
  },
  "/v1/ocr": (b) =>
    isObject(b.document)
      ? null
      : problem("body.document", b.document, 'an object such as { type: "document_url", document_url }'),
  "/v1/classifications": (b) => checkStringInput(b.input, "body.input"),
  "/v1/chat/classifications": (b) => {
    const input = b.input;
    if (isObject(input) && Array.isArray(input.messages)) return checkMessages(input.messages, "body.input.messages");
    if (Array.isArray(input) && input.length > 0 && input.every((x) => isObject(x) && Array.isArray(x.messages))) {
      for (let i = 0; i < input.length; i++) {
        const p = checkMessages((input[i] as { messages: unknown }).messages, `body.input[${i}].messages`);
        if (p) return p;
      }
      return null;
    }
    return checkMessages(input, "body.input");
  },
  "/v1/conversations": (b) =>
    isNonEmptyString(b.inputs) || (Array.isArray(b.inputs) && b.inputs.length > 0)
      ? null
      : problem("body.inputs", b.inputs, "a non-empty string or a non-empty array of entries"),
  "/v1/audio/transcriptions": (b) =>
    isNonEmptyString(b.file_url) || isNonEmptyString(b.file_id)
      ? null
      : problem("body.file_url", b.file_url, "a file_url or file_id string"),
};

/**
 * Checks one parsed request line (`{ custom_id, body }`). `endpoint` undefined checks only the envelope.
 * Returns the first problem of the line, or null.
 */
export function checkRequestLine(line: unknown, endpoint?: ApiEndpoint): FieldProblem | null {
  if (!isObject(line)) return problem("(line)", line, 'a JSON object { "custom_id": string, "body": object }');
  if (!isNonEmptyString(line.custom_id))
    return problem("custom_id", line.custom_id, "a non-empty string, unique in the file");
  if (!isObject(line.body)) return problem("body", line.body, "a JSON object (the request body for the endpoint)");
  return endpoint ? checks[endpoint](line.body) : null;
}
