/**
 * Faults on demand, so clients can be tested against what real networks and servers do.
 *
 * A rule matches requests by method and path (a regular expression) and fires a number of times:
 *  - `status`: answer with an HTTP error (429 carries `Retry-After`) without handling the request;
 *  - `drop`: close the connection without answering, before handling;
 *  - `latency`: wait before handling;
 *  - `commit-then-drop`: handle the request (a job is created, a file stored), then close the connection
 *    instead of answering: the client cannot know whether its request took effect.
 *
 * Rules come from options, the `--fault` flag, the `MISTRAL_EMULATOR_FAULTS` environment variable or the admin
 * route `POST /__emulator/faults`. The compact form is `KIND[:ARG][*TIMES][@[METHOD ]PATH_REGEX]`, e.g.
 * `429*3`, `503:2*1@POST /v1/batch/jobs` (503 with Retry-After 2 s once), `drop`, `latency:250*inf`,
 * `commit-then-drop@POST /v1/batch/jobs`. Several rules join with `;`. JSON (a rule or an array) works too.
 */

export type FaultKind = "status" | "drop" | "latency" | "commit-then-drop";

export interface FaultRule {
  kind: FaultKind;
  /** HTTP status for `status` rules (400..599). */
  status?: number;
  /** Seconds for the `Retry-After` header of `status` rules (429 gets 1 unless given). */
  retryAfterSeconds?: number;
  /** Milliseconds for `latency` rules. */
  ms?: number;
  /** How many matching requests it applies to; `null` for all of them. Default 1. */
  times?: number | null;
  /** Only requests with this method (any when absent). */
  method?: string;
  /** Only requests whose path matches this regular expression (any when absent). Admin routes never match. */
  path?: string;
}

interface ActiveRule extends FaultRule {
  remaining: number | null;
  regex: RegExp | null;
}

export class FaultError extends Error {}

/** Parses the compact form (or JSON) into rules, with errors that name the part that is wrong. */
export function parseFaults(spec: string): FaultRule[] {
  const text = spec.trim();
  if (text === "") return [];
  if (text.startsWith("{") || text.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new FaultError(`fault spec: invalid JSON ${JSON.stringify(text)}: ${(cause as Error).message}`, { cause });
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.map((r) => validateRule(r as FaultRule));
  }
  return text
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseOne);
}

const COMPACT = /^([a-z-]+|\d{3})(?::(\d+))?(?:\*(\d+|inf))?(?:@(?:([A-Z]+)\s+)?(\S+))?$/;

function parseOne(part: string): FaultRule {
  const m = COMPACT.exec(part);
  if (!m) {
    throw new FaultError(
      `fault spec: cannot read ${JSON.stringify(part)}; expected KIND[:ARG][*TIMES][@[METHOD ]PATH_REGEX] ` +
        `with KIND a status code (429, 500, 503...), drop, latency or commit-then-drop, e.g. "429*3" or "latency:200*inf"`,
    );
  }
  const [, kindText, arg, times, method, path] = m;
  const rule: FaultRule = /^\d{3}$/.test(kindText)
    ? { kind: "status", status: Number(kindText), retryAfterSeconds: arg === undefined ? undefined : Number(arg) }
    : { kind: kindText as FaultKind, ms: arg === undefined ? undefined : Number(arg) };
  rule.times = times === undefined ? 1 : times === "inf" ? null : Number(times);
  if (method) rule.method = method;
  if (path) rule.path = path;
  return validateRule(rule);
}

function validateRule(rule: FaultRule): FaultRule {
  const kinds: FaultKind[] = ["status", "drop", "latency", "commit-then-drop"];
  if (!rule || typeof rule !== "object" || !kinds.includes(rule.kind)) {
    throw new FaultError(`fault rule: kind must be one of ${kinds.join(", ")}, received ${JSON.stringify(rule?.kind)}`);
  }
  if (rule.kind === "status" && !(Number.isInteger(rule.status) && rule.status! >= 400 && rule.status! <= 599)) {
    throw new FaultError(`fault rule: status must be an HTTP error code 400..599, received ${JSON.stringify(rule.status)}`);
  }
  if (rule.kind === "latency" && !(typeof rule.ms === "number" && rule.ms >= 0)) {
    throw new FaultError(`fault rule: latency needs ms >= 0 (e.g. "latency:250"), received ${JSON.stringify(rule.ms)}`);
  }
  if (rule.times !== undefined && rule.times !== null && !(Number.isInteger(rule.times) && rule.times > 0)) {
    throw new FaultError(`fault rule: times must be a whole number > 0 or null (always), received ${JSON.stringify(rule.times)}`);
  }
  if (rule.path !== undefined) {
    try {
      new RegExp(rule.path);
    } catch (cause) {
      throw new FaultError(`fault rule: path is not a valid regular expression: ${JSON.stringify(rule.path)}`, { cause });
    }
  }
  return rule;
}

export class Faults {
  private rules: ActiveRule[] = [];

  add(rules: FaultRule[]): void {
    for (const r of rules.map(validateRule)) {
      this.rules.push({ ...r, remaining: r.times === undefined ? 1 : r.times, regex: r.path ? new RegExp(r.path) : null });
    }
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map(({ regex: _regex, remaining, ...r }) => ({ ...r, times: remaining }));
  }

  /** Takes the faults that apply to this request (consuming one use of each). */
  take(method: string, path: string): FaultRule[] {
    const hits: FaultRule[] = [];
    for (const r of this.rules) {
      if (r.method && r.method !== method.toUpperCase()) continue;
      if (r.regex && !r.regex.test(path)) continue;
      if (r.remaining !== null) r.remaining--;
      hits.push(r);
    }
    this.rules = this.rules.filter((r) => r.remaining === null || r.remaining > 0);
    return hits;
  }
}
