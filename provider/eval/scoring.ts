/**
 * Scoring an answer against the expected answer: the declarative scorers of `Scorer`, their validation, and the
 * application of a user's `ScoreFn`. Pure functions; every score is in [0, 1].
 */
import type { ScoreFn, Scorer } from "./types";

export type { ScoreFn, Scorer };

export const SCORER_TYPES = ["exact", "contains", "regex", "numeric", "json-field", "judge"] as const;

/** The fields each scorer type takes (besides `type`). */
const SCORER_FIELDS: Record<Scorer["type"], readonly string[]> = {
  exact: ["caseSensitive"],
  contains: ["caseSensitive"],
  regex: ["pattern", "flags"],
  numeric: ["tolerance", "relativeTolerance"],
  "json-field": ["field"],
  judge: ["model", "rubric", "maxTokens"],
};

const REGEX_FLAGS = "dgimsuvy";
const PLACEHOLDER = "{expected}";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Renders a value for a message: JSON, cut to a readable length. */
function show(value: unknown, max = 80): string {
  if (value === undefined) return "missing";
  let text: string;
  try {
    text = typeof value === "function" ? "a function" : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Normal form for exact / contains: Unicode NFC, trimmed, runs of whitespace collapsed to one space, trailing
 * punctuation (. , ; : ! ? and their full-width forms) and whitespace removed, lower-cased unless `caseSensitive`.
 */
export function normalize(text: string, caseSensitive = false): string {
  const t = text
    .normalize("NFC")
    .replace(/\s+/g, " ")
    .replace(/[\s.,;:!?。，；：！？]+$/u, "")
    .trim();
  return caseSensitive ? t : t.toLowerCase();
}

/** Escapes text for use as a literal in a regular expression (also valid with the `u` / `v` flags outside classes). */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/**
 * Problems of a scorer (an empty list when it is valid). Each names the field, the value received and what is
 * allowed: an unknown type, a field the type does not take, a non-boolean caseSensitive, a missing / invalid regex
 * or bad flags, a negative or non-finite tolerance, an empty or malformed json-field path.
 */
export function checkScorer(value: unknown, where = "scorer"): string[] {
  if (!isObject(value))
    return [
      `${where} is ${show(value)}; expected an object { type: ${SCORER_TYPES.map((t) => `"${t}"`).join(" | ")}, ... }`,
    ];
  const type = value.type;
  if (typeof type !== "string" || !(SCORER_TYPES as readonly string[]).includes(type)) {
    return [`${where}.type is ${show(type)}; expected one of ${SCORER_TYPES.map((t) => `"${t}"`).join(", ")}`];
  }
  const problems: string[] = [];
  const allowed = SCORER_FIELDS[type as Scorer["type"]];
  for (const key of Object.keys(value)) {
    if (key !== "type" && !allowed.includes(key)) {
      problems.push(
        `${where}.${key} is ${show(value[key])}; a "${type}" scorer takes only ${["type", ...allowed].join(", ")}`,
      );
    }
  }
  switch (type as Scorer["type"]) {
    case "exact":
    case "contains":
      if (value.caseSensitive !== undefined && typeof value.caseSensitive !== "boolean") {
        problems.push(`${where}.caseSensitive is ${show(value.caseSensitive)}; expected true or false (default false)`);
      }
      break;
    case "regex": {
      const { pattern, flags } = value;
      let flagsOk = true;
      if (
        flags !== undefined &&
        (typeof flags !== "string" || [...flags].some((f, i) => !REGEX_FLAGS.includes(f) || flags.indexOf(f) !== i))
      ) {
        problems.push(
          `${where}.flags is ${show(flags)}; expected a string of distinct flags among ${[...REGEX_FLAGS].join(", ")}`,
        );
        flagsOk = false;
      }
      if (typeof pattern !== "string" || pattern === "") {
        problems.push(
          `${where}.pattern is ${show(pattern)}; expected a non-empty regular expression (JavaScript syntax; ${PLACEHOLDER} stands for the escaped expected answer)`,
        );
      } else if (flagsOk) {
        try {
          new RegExp(pattern.split(PLACEHOLDER).join("x"), (flags as string | undefined) ?? "");
        } catch (e) {
          problems.push(
            `${where}.pattern is ${show(pattern)}; expected a valid JavaScript regular expression with flags ${show(flags ?? "")} (${(e as Error).message})`,
          );
        }
      }
      break;
    }
    case "numeric":
      for (const field of ["tolerance", "relativeTolerance"] as const) {
        const v = value[field];
        if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) {
          problems.push(
            `${where}.${field} is ${show(v)}; expected a finite number >= 0${field === "tolerance" ? " (absolute, default 0)" : " (a fraction of the expected value, e.g. 0.01)"}`,
          );
        }
      }
      break;
    case "json-field": {
      const field = value.field;
      if (typeof field !== "string" || field === "")
        problems.push(
          `${where}.field is ${show(field)}; expected a non-empty dot path such as "answer" or "result.items.0.name"`,
        );
      else if (field.split(".").some((s) => s === ""))
        problems.push(
          `${where}.field is ${show(field)}; expected a dot path without empty segments (no leading, trailing or doubled dots)`,
        );
      break;
    }
    case "judge": {
      const { model, rubric, maxTokens } = value;
      if (typeof model !== "string" || model.trim() === "")
        problems.push(
          `${where}.model is ${show(model)}; expected the grading model's name, e.g. "mistral-large-latest"`,
        );
      if (rubric !== undefined && (typeof rubric !== "string" || rubric.trim() === ""))
        problems.push(`${where}.rubric is ${show(rubric)}; expected the judge's instructions as a non-empty string`);
      if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && (maxTokens as number) >= 1))
        problems.push(`${where}.maxTokens is ${show(maxTokens)}; expected a whole number >= 1 (default 8)`);
      break;
    }
  }
  return problems;
}

/** Throws one error listing every problem of the scorer. */
export function assertScorer(value: unknown, where = "scorer"): asserts value is Scorer {
  const problems = checkScorer(value, where);
  if (problems.length) throw new Error(problems.join("\n"));
}

/** The expected answer as text, for the text scorers: a string as is, a number or boolean as written, others as JSON. */
function expectedText(expected: unknown): string {
  if (typeof expected === "string") return expected;
  if (typeof expected === "number" || typeof expected === "boolean" || typeof expected === "bigint")
    return String(expected);
  return JSON.stringify(expected) ?? String(expected);
}

// Numbers in text: an optional sign (not when glued to a word, e.g. the "-" of "3-5"), digits with optional
// thousands separators (commas in groups of three), an optional decimal part, an optional exponent.
const NUMBER = /(?:(?<![\w.])[-+−])?(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|(?<![\d.])\.\d+)(?:[eE][-+]?\d+)?/g;

function toNumber(token: string): number {
  return Number(token.replace(/,/g, "").replace("−", "-"));
}

/**
 * The last number written in the text, or null: "The answer is 1,234.5." gives 1234.5; "-7" gives -7; "3-5" gives 5
 * (a dash between digits is not a sign); "12,5" gives 5 (a comma only separates thousands, in groups of three).
 */
export function lastNumber(text: string): number | null {
  let last: string | null = null;
  for (const m of text.matchAll(NUMBER)) last = m[0];
  if (last === null) return null;
  const n = toNumber(last);
  return Number.isFinite(n) ? n : null;
}

/** The expected value of a numeric scorer: a finite number, or a string that is exactly one number. */
function expectedNumber(expected: unknown): number {
  if (typeof expected === "number" && Number.isFinite(expected)) return expected;
  if (typeof expected === "string") {
    const t = expected.trim();
    const m = t.match(NUMBER);
    if (m && m.length === 1 && m[0] === t) return toNumber(t);
  }
  throw new Error(
    `numeric scorer: the expected answer is ${show(expected)}; expected a finite number or a string holding one number`,
  );
}

/** Extracts the JSON document of an answer: the body of a ``` / ```json fence, else the whole text, else its outermost {...} or [...]. */
export function answerJson(answer: string): { ok: true; value: unknown } | { ok: false } {
  const candidates: string[] = [];
  const fence = /```[ \t]*(?:json[c5]?)?[ \t]*\r?\n?([\s\S]*?)```/i.exec(answer);
  if (fence) candidates.push(fence[1]);
  candidates.push(answer);
  const start = answer.search(/[{[]/);
  if (start >= 0) {
    const close = answer[start] === "{" ? "}" : "]";
    const end = answer.lastIndexOf(close);
    if (end > start) candidates.push(answer.slice(start, end + 1));
  }
  for (const c of candidates) {
    try {
      return { ok: true, value: JSON.parse(c.trim()) };
    } catch {
      // next candidate
    }
  }
  return { ok: false };
}

/** The value at a dot path (`a.b.0.c`; numeric segments index arrays), or undefined. */
export function getPath(value: unknown, path: string): unknown {
  let v = value;
  for (const seg of path.split(".")) {
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(seg)) return undefined;
      v = v[Number(seg)];
    } else if (isObject(v)) {
      if (!Object.hasOwn(v, seg)) return undefined;
      v = v[seg];
    } else return undefined;
  }
  return v;
}

/** JSON equality: same type and value; objects compare key by key whatever the order; arrays element by element. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return a === b;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** A scorer prepared once (its regex compiled when it has no placeholder) for many answers. */
export type CompiledScorer = (answer: string, expected: unknown) => number;

/**
 * Prepares a scorer: validates it (throws listing the problems) and returns a function scoring (answer, expected).
 * That function throws when `expected` is undefined (nothing to score against) or unusable (a numeric scorer's
 * expected value that is not a number).
 *
 *  - exact: normalize(answer) === normalize(expected) ({@link normalize}; non-string expected values as written).
 *  - contains: normalize(answer) includes normalize(expected). An empty expected answer matches only an empty
 *    answer (not every answer). No word boundaries: "4" is contained in "42"; use regex `\b{expected}\b` for that.
 *  - regex: the pattern, with every `{expected}` replaced by the escaped expected text, matches the answer.
 *  - numeric: the last number of the answer ({@link lastNumber}) is within `tolerance` (absolute) or
 *    `relativeTolerance` x |expected| of the expected number; a few ulps of slack absorb binary rounding
 *    (1.01 vs 1 with tolerance 0.01 passes). No number in the answer scores 0.
 *  - json-field: the answer's JSON ({@link answerJson}) has at `field` a value JSON-equal to the expected value
 *    (types matter: "42" is not 42). Unparseable answers and missing fields score 0.
 */
export function compileScorer(scorer: Scorer): CompiledScorer {
  assertScorer(scorer);
  const need = (expected: unknown) => {
    if (expected === undefined) throw new Error(`${scorer.type} scorer: there is no expected answer to score against`);
  };
  switch (scorer.type) {
    case "exact": {
      const cs = scorer.caseSensitive ?? false;
      return (answer, expected) => {
        need(expected);
        return normalize(answer, cs) === normalize(expectedText(expected), cs) ? 1 : 0;
      };
    }
    case "contains": {
      const cs = scorer.caseSensitive ?? false;
      return (answer, expected) => {
        need(expected);
        const e = normalize(expectedText(expected), cs);
        const a = normalize(answer, cs);
        return (e === "" ? a === "" : a.includes(e)) ? 1 : 0;
      };
    }
    case "regex": {
      const flags = scorer.flags ?? "";
      const parts = scorer.pattern.split(PLACEHOLDER);
      if (parts.length === 1) {
        const re = new RegExp(scorer.pattern, flags);
        return (answer, expected) => {
          need(expected);
          re.lastIndex = 0; // g / y flags make test() stateful
          return re.test(answer) ? 1 : 0;
        };
      }
      return (answer, expected) => {
        need(expected);
        const re = new RegExp(parts.join(escapeRegExp(expectedText(expected))), flags);
        return re.test(answer) ? 1 : 0;
      };
    }
    case "numeric": {
      const tol = scorer.tolerance ?? 0;
      const rel = scorer.relativeTolerance ?? 0;
      return (answer, expected) => {
        need(expected);
        const e = expectedNumber(expected);
        const a = lastNumber(answer);
        if (a === null) return 0;
        const slack = 4 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(e), 1);
        return Math.abs(a - e) <= Math.max(tol, rel * Math.abs(e)) + slack ? 1 : 0;
      };
    }
    case "json-field": {
      const field = scorer.field;
      return (answer, expected) => {
        need(expected);
        const doc = answerJson(answer);
        if (!doc.ok) return 0;
        const v = getPath(doc.value, field);
        return v !== undefined && jsonEqual(v, expected) ? 1 : 0;
      };
    }
    case "judge":
      // Graded by a batch job of the judge model (eval/judge.ts), not by a function here.
      throw new Error("judge scorer: answers are graded by the judge's batch jobs (eval/judge.ts), not compiled");
  }
}

/** Scores one answer with a declarative scorer (see {@link compileScorer}); in [0, 1]. */
export function score(scorer: Scorer, answer: string, expected: unknown): number {
  return compileScorer(scorer)(answer, expected);
}

/** Slack allowed outside [0, 1] for a ScoreFn's number (rounding), clamped back into range. */
const CLAMP_SLACK = 1e-9;

/**
 * A ScoreFn's result as a score: true -> 1, false -> 0, a number in [0, 1] as is (within 1e-9 outside, clamped).
 * Anything else throws an error naming `where`, the value returned and what is allowed.
 */
export function toScore(value: unknown, where = "scoreFn"): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" && Number.isFinite(value) && value >= -CLAMP_SLACK && value <= 1 + CLAMP_SLACK)
    return Math.min(1, Math.max(0, value));
  const then = isObject(value) && typeof (value as { then?: unknown }).then === "function";
  throw new Error(
    then
      ? `${where} returned a Promise; a ScoreFn must be synchronous and return true/false or a number in [0, 1]`
      : `${where} returned ${typeof value === "number" ? String(value) : show(value)}; expected true/false or a finite number in [0, 1]`,
  );
}

/**
 * Runs a user's ScoreFn on one answer and returns its score in [0, 1]. An exception of the function, or a result
 * that is not a score, is rethrown as an Error naming the item (and `model` when given); the original is its `cause`.
 */
export function applyScoreFn(
  fn: ScoreFn,
  answer: string,
  expected: unknown,
  item: { customId: string; prompt: string },
  model?: string,
): number {
  const where = `scoreFn for custom_id ${JSON.stringify(item.customId)}${model ? ` (model ${model})` : ""}`;
  let result: unknown;
  try {
    result = fn(answer, expected, item);
  } catch (cause) {
    throw new Error(`${where} threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return toScore(result, where);
}
