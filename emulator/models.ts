/**
 * A catalogue of fake Mistral models that answer batch requests deterministically.
 *
 * Every answer is a pure function of (model, endpoint, body, custom_id / request index, now): no clock, no
 * randomness. Response bodies follow Mistral's OpenAPI spec (`../shared/mistral/openapi.yaml`) and parse with
 * the official SDK's zod schemas; see `test/emulator/models.test.ts`.
 *
 * Chat models answer "checkable" questions (simple arithmetic, capitals, uppercase / reverse of a quoted
 * string) correctly at their configured `accuracy` rate, so evaluation runs show real differences between
 * models. Answers to checkable questions end with `The answer is <answer>.` (see {@link extractAnswer}).
 */
import { createHash } from "node:crypto";
import { API_ENDPOINTS, listPrice, LIST_PRICES, type ApiEndpoint, type ModelPrice } from "../provider/api";
import type { ModelAnswer } from "./types";

export interface ModelSpec {
  /** Model name as used in requests, e.g. "mistral-small-latest". */
  id: string;
  /** Endpoints this model serves. */
  endpoints: ApiEndpoint[];
  /** 0..1: rate of correct answers on checkable questions. */
  accuracy: number;
  /** Other names that resolve to this model (dated versions). */
  aliases?: string[];
  /** USD list price per million tokens (informational, approximate). */
  price?: ModelPrice;
  /** Default embedding size for embedding models (mistral-embed is 1024). */
  embeddingDimensions?: number;
  /** Largest `output_dimension` an embedding request may ask for; absent = `output_dimension` not supported. */
  maxOutputDimension?: number;
  /** 0..1 deterministic fraction of requests that fail with a per-request 500 error (default 0). */
  failureRate?: number;
}

const CHAT: ApiEndpoint = "/v1/chat/completions";
const EMBEDDINGS: ApiEndpoint = "/v1/embeddings";
const FIM: ApiEndpoint = "/v1/fim/completions";
const MODERATIONS: ApiEndpoint = "/v1/moderations";
const CHAT_MODERATIONS: ApiEndpoint = "/v1/chat/moderations";
const OCR: ApiEndpoint = "/v1/ocr";
const CLASSIFICATIONS: ApiEndpoint = "/v1/classifications";
const CHAT_CLASSIFICATIONS: ApiEndpoint = "/v1/chat/classifications";

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** The contract's list price of a model of the default catalogue (`provider/api/prices.ts`). */
function priced(id: string): ModelPrice {
  const p = listPrice(id);
  if (!p) throw new Error(`model catalogue: ${id} has no entry in the price list of ${LIST_PRICES.date}`);
  return p;
}

/**
 * The default catalogue. Prices are the contract's dated list (`LIST_PRICES`: illustrative list prices in USD per
 * million tokens of the synchronous API; batch is billed at 50%); check Mistral's pricing page for real figures.
 * Accuracies are made up, chosen so bigger models are visibly better.
 */
export const DEFAULT_MODELS: readonly ModelSpec[] = deepFreeze([
  {
    id: "mistral-large-latest",
    endpoints: [CHAT],
    accuracy: 0.92,
    aliases: ["mistral-large-2411"],
    price: priced("mistral-large-latest"),
  },
  {
    id: "magistral-medium-latest",
    endpoints: [CHAT],
    accuracy: 0.9,
    aliases: ["magistral-medium-2509"],
    price: priced("magistral-medium-latest"),
  },
  {
    id: "pixtral-large-latest",
    endpoints: [CHAT],
    accuracy: 0.88,
    aliases: ["pixtral-large-2411"],
    price: priced("pixtral-large-latest"),
  },
  {
    id: "mistral-medium-latest",
    endpoints: [CHAT],
    accuracy: 0.85,
    aliases: ["mistral-medium-2508"],
    price: priced("mistral-medium-latest"),
  },
  {
    id: "codestral-latest",
    endpoints: [CHAT, FIM],
    accuracy: 0.75,
    aliases: ["codestral-2508"],
    price: priced("codestral-latest"),
  },
  {
    id: "mistral-small-latest",
    endpoints: [CHAT],
    accuracy: 0.72,
    aliases: ["mistral-small-2506"],
    price: priced("mistral-small-latest"),
  },
  {
    id: "open-mistral-nemo",
    endpoints: [CHAT],
    accuracy: 0.62,
    aliases: ["open-mistral-nemo-2407"],
    price: priced("open-mistral-nemo"),
  },
  {
    id: "ministral-8b-latest",
    endpoints: [CHAT],
    accuracy: 0.6,
    aliases: ["ministral-8b-2410"],
    price: priced("ministral-8b-latest"),
  },
  {
    id: "ministral-3b-latest",
    endpoints: [CHAT],
    accuracy: 0.45,
    aliases: ["ministral-3b-2410"],
    price: priced("ministral-3b-latest"),
  },
  {
    id: "mistral-embed",
    endpoints: [EMBEDDINGS],
    accuracy: 1,
    aliases: ["mistral-embed-2312"],
    price: priced("mistral-embed"),
    embeddingDimensions: 1024,
  },
  {
    id: "codestral-embed",
    endpoints: [EMBEDDINGS],
    accuracy: 1,
    aliases: ["codestral-embed-2505"],
    price: priced("codestral-embed"),
    embeddingDimensions: 1536,
    maxOutputDimension: 3072,
  },
  {
    id: "mistral-moderation-latest",
    endpoints: [MODERATIONS, CHAT_MODERATIONS, CLASSIFICATIONS, CHAT_CLASSIFICATIONS],
    accuracy: 1,
    aliases: ["mistral-moderation-2411"],
    price: priced("mistral-moderation-latest"),
  },
  {
    // Priced per page in reality (about $1 per 1,000 pages), so no per-token price here.
    id: "mistral-ocr-latest",
    endpoints: [OCR],
    accuracy: 1,
    aliases: ["mistral-ocr-2505"],
  },
] satisfies ModelSpec[]);

export class ModelCatalogue {
  private readonly models: readonly ModelSpec[];
  private readonly byName = new Map<string, ModelSpec>();

  constructor(models: readonly ModelSpec[] = DEFAULT_MODELS) {
    for (const m of models) {
      if (!m.id) throw new Error("model catalogue: a model has an empty id");
      if (!(m.accuracy >= 0 && m.accuracy <= 1)) throw new Error(`model catalogue: ${m.id} accuracy must be in [0, 1]`);
      const fr = m.failureRate ?? 0;
      if (!(fr >= 0 && fr <= 1)) throw new Error(`model catalogue: ${m.id} failureRate must be in [0, 1]`);
      for (const e of m.endpoints) {
        if (!(API_ENDPOINTS as readonly string[]).includes(e)) throw new Error(`model catalogue: ${m.id} lists unknown endpoint ${e}`);
      }
      for (const name of [m.id, ...(m.aliases ?? [])]) {
        if (this.byName.has(name)) throw new Error(`model catalogue: duplicate model name ${name}`);
        this.byName.set(name, m);
      }
    }
    this.models = models;
  }

  /** The model with this id or alias. */
  get(id: string): ModelSpec | undefined {
    return this.byName.get(id);
  }

  list(): ModelSpec[] {
    return [...this.models];
  }

  /** Null when `id` names a model that serves `endpoint`; otherwise a message naming the model and what is allowed. */
  checkModel(id: string, endpoint: ApiEndpoint): string | null {
    if (!(API_ENDPOINTS as readonly string[]).includes(endpoint)) {
      return `Unknown endpoint '${endpoint}'. Allowed endpoints: ${API_ENDPOINTS.join(", ")}.`;
    }
    const serving = this.models.filter((m) => m.endpoints.includes(endpoint)).map((m) => m.id);
    const servingText = serving.length
      ? `Models that serve ${endpoint}: ${serving.join(", ")}.`
      : `No model of this emulator serves ${endpoint}.`;
    if (typeof id !== "string" || id === "") return `A model is required. ${servingText}`;
    const model = this.get(id);
    if (!model) return `Invalid model: '${id}' does not exist. ${servingText}`;
    if (!model.endpoints.includes(endpoint)) {
      const name = model.id === id ? `'${id}'` : `'${id}' (${model.id})`;
      return `Model ${name} does not support endpoint ${endpoint}; it serves ${model.endpoints.join(", ")}. ${servingText}`;
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hashing and pseudo-randomness

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Deterministic number in [0, 1) from a string. */
function unitHash(text: string): number {
  return sha256(text).readUIntBE(0, 6) / 2 ** 48;
}

/** Small fast PRNG (sfc32), seeded from a sha256. */
function prng(seedText: string): () => number {
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
function fnv1a(text: string, seed = 0x811c9dc5): number {
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

// ---------------------------------------------------------------------------------------------------------
// Checkable questions

const CAPITALS: Record<string, string> = {
  france: "Paris",
  germany: "Berlin",
  italy: "Rome",
  spain: "Madrid",
  portugal: "Lisbon",
  "united kingdom": "London",
  ireland: "Dublin",
  belgium: "Brussels",
  netherlands: "Amsterdam",
  switzerland: "Bern",
  austria: "Vienna",
  poland: "Warsaw",
  sweden: "Stockholm",
  norway: "Oslo",
  denmark: "Copenhagen",
  finland: "Helsinki",
  greece: "Athens",
  japan: "Tokyo",
  china: "Beijing",
  india: "New Delhi",
  canada: "Ottawa",
  "united states": "Washington, D.C.",
  mexico: "Mexico City",
  brazil: "Brasília",
  argentina: "Buenos Aires",
  australia: "Canberra",
  egypt: "Cairo",
  kenya: "Nairobi",
  morocco: "Rabat",
  turkey: "Ankara",
};
const CAPITAL_LIST = Object.values(CAPITALS);

export type CheckableKind = "arithmetic" | "capital" | "uppercase" | "reverse";
interface Checkable {
  kind: CheckableKind;
  answer: string;
  wrong(u: number): string;
}

function formatNumber(n: number): string {
  const r = Number(n.toFixed(4));
  return Object.is(r, -0) ? "0" : String(r);
}

/** Tiny recursive-descent evaluator for + - * / and parentheses. Throws on malformed input. */
function evaluateExpression(expr: string): { value: number; big: bigint | null } {
  const tokens: string[] = expr.match(/\d+(?:\.\d+)?|[-+*/()]/g) ?? [];
  if (tokens.join("") !== expr.replace(/\s+/g, "")) throw new Error("bad expression");
  let pos = 0;
  // Exact integer arithmetic with BigInt when there is no division and no decimal.
  const exact = !tokens.includes("/") && tokens.every((t) => !t.includes("."));
  type V = { n: number; b: bigint };
  const num = (t: string): V => ({ n: Number(t), b: exact ? BigInt(t) : 0n });
  const factor = (): V => {
    const t = tokens[pos++];
    if (t === undefined) throw new Error("unexpected end");
    if (t === "-") {
      const v = factor();
      return { n: -v.n, b: -v.b };
    }
    if (t === "+") return factor();
    if (t === "(") {
      const v = sum();
      if (tokens[pos++] !== ")") throw new Error("missing )");
      return v;
    }
    if (/^\d/.test(t)) return num(t);
    throw new Error(`unexpected ${t}`);
  };
  const product = (): V => {
    let v = factor();
    while (tokens[pos] === "*" || tokens[pos] === "/") {
      const op = tokens[pos++];
      const w = factor();
      if (op === "*") v = { n: v.n * w.n, b: v.b * w.b };
      else {
        if (w.n === 0) throw new Error("division by zero");
        v = { n: v.n / w.n, b: 0n };
      }
    }
    return v;
  };
  const sum = (): V => {
    let v = product();
    while (tokens[pos] === "+" || tokens[pos] === "-") {
      const op = tokens[pos++];
      const w = product();
      v = op === "+" ? { n: v.n + w.n, b: v.b + w.b } : { n: v.n - w.n, b: v.b - w.b };
    }
    return v;
  };
  const v = sum();
  if (pos !== tokens.length) throw new Error("trailing tokens");
  if (!Number.isFinite(v.n)) throw new Error("not finite");
  return { value: v.n, big: exact ? v.b : null };
}

const WRONG_DELTAS = [1, 2, 3, 5, 10, -1, -2, -3, -4, -10];

function findArithmetic(text: string): Checkable | null {
  let t = text
    .replace(/[×✕]/g, "*")
    .replace(/[÷]/g, "/")
    .replace(/[−–]/g, " - ")
    .replace(/\bmultiplied\s+by\b/gi, "*")
    .replace(/\bdivided\s+by\b/gi, "/")
    .replace(/\btimes\b/gi, "*")
    .replace(/\bplus\b/gi, "+")
    .replace(/\bminus\b/gi, "-");
  t = t.replace(/(\d)\s+x\s+(?=[\d(])/gi, "$1 * ");
  const runs = t.match(/[\d\s.+\-*/()]+/g) ?? [];
  for (const raw of runs) {
    const run = raw.trim().replace(/[.\s]+$/, "");
    if (!/\d/.test(run)) continue;
    if (/\d-\d+-\d/.test(run)) continue; // dates, phone numbers
    // a binary operator: + * / anywhere after a digit or ')', or a '-' with a space on at least one side
    if (!/[\d)]\s*[+*/]\s*[-(\d]/.test(run) && !/[\d)](?:\s+-\s*|\s*-\s+)[-(\d]/.test(run)) continue;
    let result: { value: number; big: bigint | null };
    try {
      result = evaluateExpression(run);
    } catch {
      continue;
    }
    const answer = result.big !== null ? result.big.toString() : formatNumber(result.value);
    return {
      kind: "arithmetic",
      answer,
      wrong: (u) => {
        const delta = WRONG_DELTAS[Math.floor(u * WRONG_DELTAS.length)]!;
        return result.big !== null ? (result.big + BigInt(delta)).toString() : formatNumber(result.value + delta);
      },
    };
  }
  return null;
}

const QUOTED = /(?:^|[\s:(])(?:"([^"]*)"|'([^']*)'|`([^`]*)`|“([^”]*)”|‘([^’]*)’)/;

function quoted(text: string): string | null {
  const m = QUOTED.exec(text);
  if (!m) return null;
  return m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? null;
}

/** A wrong variant that always differs from `s`: one character doubled. */
function garble(s: string, u: number): string {
  if (s.length === 0) return "?";
  const i = Math.floor(u * s.length);
  return s.slice(0, i + 1) + s[i] + s.slice(i + 1);
}

function findCheckable(text: string): Checkable | null {
  if (/\b(upper\s*-?\s*case|capitali[sz]e|all caps)\b/i.test(text)) {
    const s = quoted(text);
    if (s !== null) {
      const answer = s.toUpperCase();
      return { kind: "uppercase", answer, wrong: (u) => garble(answer, u) };
    }
  }
  if (/\brevers(e|ed|ing)\b/i.test(text)) {
    const s = quoted(text);
    if (s !== null) {
      const answer = [...s].reverse().join("");
      return { kind: "reverse", answer, wrong: (u) => garble(answer, u) };
    }
  }
  const cap = /\bcapital(?:\s+city)?\s+of\s+(?:the\s+)?([a-z][a-z .'-]*?)\s*(?:[?.!,;:]|$)/i.exec(text);
  if (cap) {
    const answer = CAPITALS[cap[1]!.toLowerCase().replace(/\s+/g, " ")];
    if (answer) {
      return {
        kind: "capital",
        answer,
        wrong: (u) => {
          const others = CAPITAL_LIST.filter((c) => c !== answer);
          return others[Math.floor(u * others.length)]!;
        },
      };
    }
  }
  return findArithmetic(text);
}

/**
 * The correct answer to a checkable question (arithmetic, "capital of X", uppercase / reverse of a quoted
 * string), or null when the question is not one the emulator can check.
 */
export function checkableAnswer(question: string): { kind: CheckableKind; answer: string } | null {
  const c = findCheckable(question);
  return c ? { kind: c.kind, answer: c.answer } : null;
}

/**
 * The answer stated in a model reply: `The answer is X.` (last sentence) or a JSON `{"answer": "X"}`
 * (JSON mode). Null when there is none.
 */
export function extractAnswer(content: string): string | null {
  const trimmed = content.trim();
  if (trimmed.startsWith("{")) {
    try {
      const v = JSON.parse(trimmed) as { answer?: unknown };
      if (typeof v.answer === "string") return extractAnswer(v.answer) ?? v.answer;
    } catch {
      // fall through
    }
  }
  const m = /The answer is ([\s\S]*)\.\s*$/.exec(trimmed);
  return m ? m[1]! : null;
}

// ---------------------------------------------------------------------------------------------------------
// Request parsing helpers

type Fail = { ok: false; status_code: number; message: string };
const fail = (status_code: number, message: string): Fail => ({ ok: false, status_code, message });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

const ROLES = ["system", "user", "assistant", "tool"] as const;
type Role = (typeof ROLES)[number];
interface ParsedMessage {
  role: Role;
  text: string;
  prefix: boolean;
}

/** Text of a message `content`: a string, null, or an array of content chunks. Returns an error message on bad input. */
function contentText(content: unknown, where: string): string | Fail {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return fail(422, `${where}: must be a string or an array of content chunks (got ${describe(content)})`);
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

function parseMessages(value: unknown, where: string): ParsedMessage[] | Fail {
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
    if (role === "system" && (m.content === null || m.content === undefined)) return fail(422, `${at}.content: must not be null for a system message`);
    const text = contentText(m.content, `${at}.content`);
    if (typeof text !== "string") return text;
    if (m.prefix !== undefined && typeof m.prefix !== "boolean") return fail(422, `${at}.prefix: must be a boolean`);
    out.push({ role: role as Role, text, prefix: m.prefix === true });
  }
  return out;
}

function optionalInt(body: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null | Fail {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v)) return fail(422, `body.${field}: must be an integer (got ${JSON.stringify(v)})`);
  if (v < min || v > max) return fail(422, `body.${field}: must be between ${min} and ${max} (got ${v})`);
  return v;
}

function stopSequences(body: Record<string, unknown>): string[] | Fail {
  const s = body.stop;
  if (s === undefined || s === null) return [];
  if (typeof s === "string") return s ? [s] : [];
  if (Array.isArray(s) && s.every((x) => typeof x === "string")) return (s as string[]).filter(Boolean);
  return fail(422, "body.stop: must be a string or an array of strings");
}

function stringInputs(value: unknown, where: string): string[] | Fail {
  if (value === undefined || value === null) return fail(422, `${where}: field required`);
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) return fail(422, `${where}: must be a string or an array of strings (got ${describe(value)})`);
  if (value.length === 0) return fail(422, `${where}: must not be empty`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") return fail(422, `${where}[${i}]: must be a string (got ${describe(value[i])})`);
  }
  return value as string[];
}

const isFail = (v: unknown): v is Fail => isObject(v) && v.ok === false;

// ---------------------------------------------------------------------------------------------------------
// Text generation

const FILLER = (
  "the of and to in is that for it as with on be by this are from at or an which model answer can more " +
  "data batch result request token mistral context example value first second also however therefore " +
  "because simple clear short long note point detail summary overall generally specific useful"
).split(" ");

function filler(seed: string, minWords: number, maxWords: number): string {
  const rnd = prng(seed);
  const n = minWords + Math.floor(rnd() * (maxWords - minWords + 1));
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(FILLER[Math.floor(rnd() * FILLER.length)]!);
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const collapse = (s: string): string => s.replace(/\s+/g, " ").trim();

interface Generated {
  content: string;
  finishReason: "stop" | "length";
  completionTokens: number;
}

/** Applies `stop` sequences and `max_tokens` to generated text. */
function finishText(text: string, stops: string[], maxTokens: number | null): Generated {
  let content = text;
  for (const s of stops) {
    const at = content.indexOf(s);
    if (at >= 0) content = content.slice(0, at);
  }
  if (maxTokens !== null && estimateTokens(content) > maxTokens) {
    content = content.slice(0, maxTokens * 4);
    return { content, finishReason: "length", completionTokens: maxTokens };
  }
  return { content, finishReason: "stop", completionTokens: estimateTokens(content) };
}

function usage(prompt: number, completion: number): Record<string, unknown> {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

// ---------------------------------------------------------------------------------------------------------
// Endpoint handlers: each validates the body and returns either an error or a function producing the body.

interface Ctx {
  model: ModelSpec;
  endpoint: ApiEndpoint;
  nowSeconds: number;
  /** Seed unique to this request: same (model, endpoint, body, custom_id or index) -> same seed. */
  seed: string;
}
type Producer = (ctx: Ctx) => Record<string, unknown>;
type Handler = (body: Record<string, unknown>, model: ModelSpec) => Producer | Fail;

const hexId = (seed: string, salt: string): string => sha256(`${salt}\u0000${seed}`).toString("hex").slice(0, 32);

/** The reply of a chat model to a conversation (without stop / max_tokens). */
function chatReply(model: ModelSpec, prompt: string, choice: number): string {
  const checkable = findCheckable(prompt);
  const key = `${model.id}\u0000${collapse(prompt)}${choice ? `\u0000#${choice}` : ""}`;
  if (checkable) {
    const u = unitHash(key);
    const answer = u < model.accuracy ? checkable.answer : checkable.wrong(unitHash(`wrong\u0000${key}`));
    return `The answer is ${answer}.`;
  }
  const head = collapse(prompt).slice(0, 60);
  return `[${model.id}] Answer to: ${head}\n\n${filler(key, 8, 40)}.`;
}

const chatCompletion: Handler = (body) => {
  const messages = parseMessages(body.messages, "body.messages");
  if (isFail(messages)) return messages;
  const last = messages[messages.length - 1]!;
  if (last.role === "assistant" && !last.prefix) {
    return fail(400, "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant");
  }
  if (last.role === "system") return fail(400, "Expected last role User or Tool (or Assistant with prefix True) for serving but got system");
  const maxTokens = optionalInt(body, "max_tokens", 0);
  if (isFail(maxTokens)) return maxTokens;
  const n = optionalInt(body, "n", 1, 128);
  if (isFail(n)) return n;
  const stops = stopSequences(body);
  if (isFail(stops)) return stops;
  const rf = body.response_format;
  if (rf !== undefined && rf !== null && (!isObject(rf) || (rf.type !== undefined && typeof rf.type !== "string"))) {
    return fail(422, "body.response_format: must be an object with a string type");
  }
  const jsonMode = isObject(rf) && (rf.type === "json_object" || rf.type === "json_schema");
  const promptTokens = Math.max(1, messages.reduce((s, m) => s + estimateTokens(m.text) + 1, 0));
  // The question is the last user/tool message; an assistant prefix conditions the reply.
  const prefix = last.role === "assistant" ? last.text : "";
  const question = [...messages].reverse().find((m) => m.role === "user" || m.role === "tool")?.text ?? "";

  return ({ model, nowSeconds, seed }) => {
    const choices: Record<string, unknown>[] = [];
    let completion = 0;
    for (let i = 0; i < (n ?? 1); i++) {
      let reply = chatReply(model, question, i);
      if (jsonMode) reply = JSON.stringify({ answer: reply });
      const g = finishText(prefix + reply, stops, maxTokens);
      completion += g.completionTokens;
      choices.push({
        index: i,
        message: { role: "assistant", content: g.content, tool_calls: null },
        finish_reason: g.finishReason,
      });
    }
    return {
      id: hexId(seed, "chat"),
      object: "chat.completion",
      model: model.id,
      created: Math.floor(nowSeconds),
      choices,
      usage: usage(promptTokens, completion),
    };
  };
};

const fimCompletion: Handler = (body) => {
  if (typeof body.prompt !== "string") {
    return fail(422, body.prompt === undefined ? "body.prompt: field required" : `body.prompt: must be a string (got ${describe(body.prompt)})`);
  }
  const prompt = body.prompt;
  if (body.suffix !== undefined && body.suffix !== null && typeof body.suffix !== "string") {
    return fail(422, `body.suffix: must be a string or null (got ${describe(body.suffix)})`);
  }
  const suffix = typeof body.suffix === "string" ? body.suffix : "";
  const maxTokens = optionalInt(body, "max_tokens", 0);
  if (isFail(maxTokens)) return maxTokens;
  const stops = stopSequences(body);
  if (isFail(stops)) return stops;
  const promptTokens = Math.max(1, estimateTokens(prompt) + estimateTokens(suffix));
  return ({ model, nowSeconds, seed }) => {
    const lastLine = prompt.split("\n").pop() ?? "";
    const indent = /^\s*/.exec(lastLine)![0];
    const before = collapse(prompt).slice(-40);
    const after = collapse(suffix).slice(0, 40);
    const text =
      `${indent}# ${model.id}: fill between ${JSON.stringify(before)} and ${JSON.stringify(after)}\n` +
      `${indent}# ${filler(`${model.id}\u0000fim\u0000${prompt}\u0000${suffix}`, 4, 12)}\n` +
      `${indent}pass\n`;
    const g = finishText(text, stops, maxTokens);
    return {
      id: hexId(seed, "fim"),
      object: "chat.completion",
      model: model.id,
      created: Math.floor(nowSeconds),
      choices: [{ index: 0, message: { role: "assistant", content: g.content, tool_calls: null }, finish_reason: g.finishReason }],
      usage: usage(promptTokens, g.completionTokens),
    };
  };
};

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
      v[h % dim]! += h & 0x80000000 ? 1 : -1;
    }
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += v[i]! * v[i]!;
  norm = Math.sqrt(norm) || 1;
  const out = new Array<number>(dim);
  for (let i = 0; i < dim; i++) out[i] = Math.round((v[i]! / norm) * 1e6) / 1e6;
  return out;
}

const embeddings: Handler = (body, model) => {
  const inputs = stringInputs(body.input, "body.input");
  if (isFail(inputs)) return inputs;
  const base = model.embeddingDimensions ?? 1024;
  let dim = base;
  const od = optionalInt(body, "output_dimension", 1);
  if (isFail(od)) return od;
  if (od !== null && od !== base) {
    if (!model.maxOutputDimension) return fail(400, `Model ${model.id} does not support output_dimension (its embeddings have ${base} dimensions)`);
    if (od > model.maxOutputDimension) return fail(422, `body.output_dimension: must be at most ${model.maxOutputDimension} for ${model.id} (got ${od})`);
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

// Moderation: categories of the spec's examples (mistral-moderation-2411).
const MODERATION_RULES: Record<string, RegExp> = {
  sexual: /\b(sex|sexual|porn\w*|nude|nudity|explicit)\b/i,
  hate_and_discrimination: /\b(hate|hateful|hating|racist|racism|bigot\w*|slur|inferior race)\b/i,
  violence_and_threats: /\b(kill\w*|murder\w*|shoot\w*|stab\w*|attack\w*|beat (?:you|him|her|them) up|threat\w*|hurt (?:you|him|her|them))\b/i,
  dangerous_and_criminal_content: /\b(bomb\w*|explosives?|weapons?|steal\w*|hack\w*|launder\w*|meth|cocaine|poison\w*)\b/i,
  selfharm: /\b(suicide|suicidal|self[- ]harm|kill myself|hurt myself|cut myself)\b/i,
  health: /\b(diagnos\w*|symptoms?|medicines?|medications?|dosage|disease|prescription)\b/i,
  financial: /\b(invest\w*|stocks?|loans?|crypto\w*|mortgage|trading|portfolio)\b/i,
  law: /\b(lawsuit|legal advice|lawyer|attorney|sue|court|contract law)\b/i,
  pii: /(\b[\w.+-]+@[\w-]+\.[\w.]+\b|\b\d{3}[- ]\d{2}[- ]\d{4}\b|\b(?:\+?\d[\d -]{8,}\d)\b|\b(ssn|social security number|passport number|credit card number)\b)/i,
};
const MODERATION_CATEGORIES = Object.keys(MODERATION_RULES);

function moderationScores(model: ModelSpec, text: string): Record<string, number> {
  const rnd = prng(`${model.id}\u0000mod\u0000${text}`);
  const scores: Record<string, number> = {};
  for (const c of MODERATION_CATEGORIES) {
    const base = MODERATION_RULES[c]!.test(text) ? 0.62 + rnd() * 0.37 : 0.0001 + rnd() * 0.0049;
    scores[c] = Math.round(base * 1e8) / 1e8;
  }
  return scores;
}

function moderationObject(model: ModelSpec, text: string): Record<string, unknown> {
  const scores = moderationScores(model, text);
  const categories: Record<string, boolean> = {};
  for (const c of MODERATION_CATEGORIES) categories[c] = scores[c]! >= 0.5;
  return { categories, category_scores: scores };
}

const moderations: Handler = (body) => {
  const inputs = stringInputs(body.input, "body.input");
  if (isFail(inputs)) return inputs;
  return ({ model, seed }) => ({
    id: hexId(seed, "mod"),
    model: model.id,
    results: inputs.map((t) => moderationObject(model, t)),
  });
};

/** `input` of chat moderations: one conversation (messages) or a list of conversations. */
function conversations(value: unknown, where: string): string[] | Fail {
  if (value === undefined || value === null) return fail(422, `${where}: field required`);
  if (!Array.isArray(value) || value.length === 0) return fail(422, `${where}: must be a non-empty array of messages or of conversations`);
  const lists: unknown[] = Array.isArray(value[0]) ? value : [value];
  const out: string[] = [];
  for (let i = 0; i < lists.length; i++) {
    const msgs = parseMessages(lists[i], lists === value ? `${where}[${i}]` : where);
    if (isFail(msgs)) return msgs;
    out.push(msgs.map((m) => m.text).join("\n"));
  }
  return out;
}

const chatModerations: Handler = (body) => {
  const texts = conversations(body.input, "body.input");
  if (isFail(texts)) return texts;
  return ({ model, seed }) => ({
    id: hexId(seed, "mod"),
    model: model.id,
    results: texts.map((t) => moderationObject(model, t)),
  });
};

/** Classification results: one target, `moderation`, scored over the moderation categories. */
function classificationResult(model: ModelSpec, text: string): Record<string, unknown> {
  return { moderation: { scores: moderationScores(model, text) } };
}

const classifications: Handler = (body) => {
  const inputs = stringInputs(body.input, "body.input");
  if (isFail(inputs)) return inputs;
  return ({ model, seed }) => ({
    id: hexId(seed, "cls"),
    model: model.id,
    results: inputs.map((t) => classificationResult(model, t)),
  });
};

const chatClassifications: Handler = (body) => {
  const input = body.input;
  if (input === undefined || input === null) return fail(422, "body.input: field required");
  const items: unknown[] = Array.isArray(input) ? input : [input];
  if (items.length === 0) return fail(422, "body.input: must not be empty");
  const texts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = Array.isArray(input) ? `body.input[${i}]` : "body.input";
    if (!isObject(item)) return fail(422, `${at}: must be an object with messages (got ${describe(item)})`);
    const msgs = parseMessages(item.messages, `${at}.messages`);
    if (isFail(msgs)) return msgs;
    texts.push(msgs.map((m) => m.text).join("\n"));
  }
  return ({ model, seed }) => ({
    id: hexId(seed, "cls"),
    model: model.id,
    results: texts.map((t) => classificationResult(model, t)),
  });
};

/** OCR `pages`: list of indices, or "0,2-4". */
function parsePages(value: unknown): number[] | null | Fail {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    if (!value.every((p) => Number.isInteger(p) && (p as number) >= 0)) return fail(422, "body.pages: must be non-negative integers");
    return [...new Set(value as number[])].sort((a, b) => a - b);
  }
  if (typeof value !== "string") return fail(422, "body.pages: must be a list of integers or a string like '0,2-4'");
  const out = new Set<number>();
  for (const part of value.split(",").map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return fail(422, `body.pages: cannot parse '${value}' (expected e.g. '0,2-4')`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a || b - a > 1000) return fail(422, `body.pages: bad range '${part}'`);
    for (let p = a; p <= b; p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

const ocr: Handler = (body) => {
  const doc = body.document;
  if (doc === undefined || doc === null) return fail(422, "body.document: field required");
  if (!isObject(doc)) return fail(422, `body.document: must be an object (got ${describe(doc)})`);
  let source: string;
  let name: string;
  const type = doc.type ?? (doc.document_url !== undefined ? "document_url" : doc.image_url !== undefined ? "image_url" : "file");
  if (type === "document_url") {
    if (typeof doc.document_url !== "string" || !doc.document_url) return fail(422, "body.document.document_url: field required (string)");
    source = doc.document_url;
    name = typeof doc.document_name === "string" && doc.document_name ? doc.document_name : source.split(/[/?#]/).filter(Boolean).pop() ?? "document";
  } else if (type === "image_url") {
    const iu = doc.image_url;
    const url = typeof iu === "string" ? iu : isObject(iu) && typeof iu.url === "string" ? iu.url : null;
    if (!url) return fail(422, "body.document.image_url: field required (string or {url})");
    source = url;
    name = url.startsWith("data:") ? "image" : url.split(/[/?#]/).filter(Boolean).pop() ?? "image";
  } else if (type === "file") {
    if (typeof doc.file_id !== "string" || !doc.file_id) return fail(422, "body.document.file_id: field required (string)");
    source = `file ${doc.file_id}`;
    name = doc.file_id;
  } else {
    return fail(422, `body.document.type: must be one of document_url, image_url, file (got ${JSON.stringify(type)})`);
  }
  const pages = parsePages(body.pages);
  if (isFail(pages)) return pages;
  return ({ model, seed }) => {
    const indices = pages ?? [0];
    return {
      pages: indices.map((index) => ({
        index,
        markdown:
          `# ${name}\n\nPage ${index + 1}, read by ${model.id} (emulated OCR of ${source.length > 80 ? source.slice(0, 77) + "..." : source}).\n\n` +
          `${filler(`${seed}\u0000ocr\u0000${index}`, 20, 60)}.\n`,
        images: [],
        tables: [],
        hyperlinks: [],
        header: null,
        footer: null,
        dimensions: { dpi: 200, height: 2200, width: 1700 },
      })),
      model: model.id,
      document_annotation: null,
      usage_info: { pages_processed: indices.length, doc_size_bytes: null },
    };
  };
};

const isoTime = (seconds: number): string => new Date(Math.floor(seconds) * 1000).toISOString();

/** Conversations (only for custom models that list the endpoint): one assistant message output. */
const conversation: Handler = (body) => {
  const inputs = body.inputs;
  let prompt: string;
  if (typeof inputs === "string") prompt = inputs;
  else if (Array.isArray(inputs) && inputs.length > 0) {
    const texts: string[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const e: unknown = inputs[i];
      if (!isObject(e)) return fail(422, `body.inputs[${i}]: must be an object (got ${describe(e)})`);
      if (e.role === "user" || e.role === undefined) {
        const t = contentText(e.content, `body.inputs[${i}].content`);
        if (typeof t !== "string") return t;
        texts.push(t);
      }
    }
    prompt = texts.pop() ?? "";
  } else {
    return fail(422, inputs === undefined ? "body.inputs: field required" : "body.inputs: must be a string or a non-empty array of entries");
  }
  return ({ model, nowSeconds, seed }) => {
    const content = chatReply(model, prompt, 0);
    const completion = estimateTokens(content);
    const promptTokens = Math.max(1, estimateTokens(prompt));
    return {
      object: "conversation.response",
      conversation_id: `conv_${hexId(seed, "conv")}`,
      outputs: [
        {
          object: "entry",
          type: "message.output",
          created_at: isoTime(nowSeconds),
          completed_at: isoTime(nowSeconds),
          agent_id: null,
          model: model.id,
          id: `msg_${hexId(seed, "msg")}`,
          role: "assistant",
          content,
        },
      ],
      usage: { ...usage(promptTokens, completion), connector_tokens: null, connectors: null },
    };
  };
};

/** Audio transcriptions (only for custom models that list the endpoint). */
const transcription: Handler = (body) => {
  const src = body.file_url ?? body.file_id ?? null;
  if (typeof src !== "string" || !src) return fail(422, "body.file_url or body.file_id: one of them is required (string)");
  const language = body.language;
  if (language !== undefined && language !== null && (typeof language !== "string" || !/^\w{2}$/.test(language))) {
    return fail(422, "body.language: must be a two-letter language code");
  }
  return ({ model, seed }) => {
    const text = `Emulated transcription of ${src} by ${model.id}: ${filler(`${seed}\u0000audio`, 10, 30)}.`;
    const seconds = 5 + Math.floor(unitHash(`${seed}\u0000secs`) * 55);
    return {
      model: model.id,
      text,
      language: typeof language === "string" ? language : "en",
      segments: [{ type: "transcription_segment", text, start: 0, end: seconds }],
      usage: { ...usage(seconds * 10, estimateTokens(text)), prompt_audio_seconds: seconds },
    };
  };
};

const HANDLERS: Record<ApiEndpoint, Handler> = {
  "/v1/chat/completions": chatCompletion,
  "/v1/embeddings": embeddings,
  "/v1/fim/completions": fimCompletion,
  "/v1/moderations": moderations,
  "/v1/chat/moderations": chatModerations,
  "/v1/ocr": ocr,
  "/v1/classifications": classifications,
  "/v1/chat/classifications": chatClassifications,
  "/v1/conversations": conversation,
  "/v1/audio/transcriptions": transcription,
};

/**
 * Answers one request of a batch. Pure and deterministic: the same (model, endpoint, body, customId — or
 * requestIndex when there is no customId) gives the same answer; `created` comes from `nowSeconds`.
 * Invalid bodies give 422 (400 for semantic problems), an endpoint the model does not serve gives 400, and
 * `model.failureRate` makes a deterministic fraction of valid requests fail with 500.
 */
export function answerRequest(
  model: ModelSpec,
  endpoint: ApiEndpoint,
  body: Record<string, unknown>,
  opts: { customId?: string | null; nowSeconds: number; requestIndex: number },
): ModelAnswer {
  const handler = Object.prototype.hasOwnProperty.call(HANDLERS, endpoint) ? HANDLERS[endpoint] : undefined;
  if (!handler) return fail(400, `Unknown endpoint '${endpoint}'. Allowed endpoints: ${API_ENDPOINTS.join(", ")}`);
  if (!model.endpoints.includes(endpoint)) {
    return fail(400, `Endpoint ${endpoint} is not supported by model ${model.id} (it serves ${model.endpoints.join(", ") || "no endpoint"})`);
  }
  if (!isObject(body)) return fail(422, `body: must be a JSON object (got ${describe(body)})`);
  const produce = handler(body, model);
  if (isFail(produce)) return produce;

  const requestKey = opts.customId !== undefined && opts.customId !== null ? `c:${opts.customId}` : `i:${opts.requestIndex}`;
  const failureRate = model.failureRate ?? 0;
  if (failureRate > 0 && unitHash(`${model.id}\u0000failure\u0000${requestKey}`) < failureRate) {
    return fail(500, `Internal server error while running ${model.id} on request ${requestKey.slice(2)} (emulated failure)`);
  }
  let bodyText: string;
  try {
    bodyText = JSON.stringify(body);
  } catch {
    return fail(422, "body: must be JSON-serialisable");
  }
  const seed = `${model.id}\u0000${endpoint}\u0000${requestKey}\u0000${bodyText}`;
  return { ok: true, status_code: 200, body: produce({ model, endpoint, nowSeconds: opts.nowSeconds, seed }) };
}
