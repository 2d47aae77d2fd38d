/**
 * Checkable questions: simple arithmetic, "capital of X", uppercase / reverse of a quoted string. Chat models
 * answer them correctly at their `accuracy` rate (wrong answers are plausible variants), and evaluation runs
 * check replies against {@link checkableAnswer} via {@link extractAnswer}.
 */

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
export interface Checkable {
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
        const delta = WRONG_DELTAS[Math.floor(u * WRONG_DELTAS.length)];
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

export function findCheckable(text: string): Checkable | null {
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
    const answer = CAPITALS[cap[1].toLowerCase().replace(/\s+/g, " ")];
    if (answer) {
      return {
        kind: "capital",
        answer,
        wrong: (u) => {
          const others = CAPITAL_LIST.filter((c) => c !== answer);
          return others[Math.floor(u * others.length)];
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
  return m ? m[1] : null;
}
