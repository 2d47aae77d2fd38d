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
 * The path regular expression must match the whole path (`/v1/batch/jobs` is job creation and listing, not
 * `/v1/batch/jobs/{id}/cancel`; write `/v1/batch/jobs.*` for all of them); the method is case-insensitive.
 * TIMES defaults to 1; `inf` keeps the rule for every matching request.
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
  /** Only requests whose whole path matches this regular expression (any when absent). Admin routes never match. */
  path?: string;
}

interface ActiveRule extends FaultRule {
  remaining: number | null;
  regex: RegExp | null;
}

export class FaultError extends Error {}

/** Parses the compact form (or JSON) into rules, with errors that name the part that is wrong. */
export function parseFaults(spec: string): FaultRule[] {
  if (typeof spec !== "string") {
    throw new FaultError(`fault spec: expected a string such as "429*3" or JSON rules, received ${describe(spec)}`);
  }
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
    return list.map((r, i) => {
      try {
        return validateRule(r as FaultRule);
      } catch (error) {
        const where = Array.isArray(parsed) ? `rule [${i}] ` : "";
        throw new FaultError(`fault spec: ${where}${JSON.stringify(r)}: ${(error as Error).message}`, { cause: error });
      }
    });
  }
  return text
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseOne);
}

const COMPACT = /^([A-Za-z-]+|\d+)(?::([^*@]*))?(?:\*([^@]*))?(?:@(?:([A-Za-z]+)\s+)?(\S+))?$/;
const COMPACT_KINDS = ["drop", "latency", "commit-then-drop"];
const HELP = `expected KIND[:ARG][*TIMES][@[METHOD ]PATH_REGEX] with KIND a status code (429, 500, 503...), drop, latency or commit-then-drop, e.g. "429*3", "503:2@POST /v1/batch/jobs" or "latency:200*inf"`;

function parseOne(part: string): FaultRule {
  const bad = (what: string): never => {
    throw new FaultError(`fault spec ${JSON.stringify(part)}: ${what}; ${HELP}`);
  };
  const m = COMPACT.exec(part);
  if (!m) return bad("cannot read it");
  const [, kindText, arg, times, method, path] = m;
  let rule: FaultRule;
  if (/^\d+$/.test(kindText)) {
    const status = Number(kindText);
    if (!(status >= 400 && status <= 599)) bad(`status ${kindText} is not an HTTP error code 400..599`);
    if (arg !== undefined && !/^\d+$/.test(arg)) bad(`Retry-After ${JSON.stringify(arg)} must be whole seconds >= 0`);
    rule = { kind: "status", status };
    if (arg !== undefined) rule.retryAfterSeconds = Number(arg);
  } else {
    if (!COMPACT_KINDS.includes(kindText)) bad(`unknown kind ${JSON.stringify(kindText)}`);
    rule = { kind: kindText as FaultKind };
    if (kindText === "latency") {
      if (arg === undefined || !/^\d+(\.\d+)?$/.test(arg))
        bad(
          `latency needs milliseconds >= 0 (e.g. "latency:250"), received ${arg === undefined ? "none" : JSON.stringify(arg)}`,
        );
      rule.ms = Number(arg);
    } else if (arg !== undefined) {
      bad(`${kindText} takes no argument, received ${JSON.stringify(arg)}`);
    }
  }
  if (times !== undefined && times !== "inf" && !/^[1-9]\d*$/.test(times))
    bad(`times ${JSON.stringify(times)} must be a whole number > 0 or "inf"`);
  rule.times = times === undefined ? 1 : times === "inf" ? null : Number(times);
  if (method) rule.method = method;
  if (path) rule.path = path;
  try {
    return validateRule(rule);
  } catch (error) {
    return bad((error as Error).message.replace(/^fault rule: /, ""));
  }
}

const RULE_KEYS = new Set(["kind", "status", "retryAfterSeconds", "ms", "times", "method", "path"]);

/** Checks a rule and normalises it (upper-case method); throws a `FaultError` naming the wrong field. */
function validateRule(rule: FaultRule): FaultRule {
  const kinds: FaultKind[] = ["status", "drop", "latency", "commit-then-drop"];
  if (!rule || typeof rule !== "object" || Array.isArray(rule)) {
    throw new FaultError(
      `fault rule: expected an object such as {"kind":"status","status":429}, received ${describe(rule)}`,
    );
  }
  for (const key of Object.keys(rule)) {
    if (!RULE_KEYS.has(key))
      throw new FaultError(`fault rule: unknown field ${JSON.stringify(key)}; fields are ${[...RULE_KEYS].join(", ")}`);
  }
  if (!kinds.includes(rule.kind)) {
    throw new FaultError(`fault rule: kind must be one of ${kinds.join(", ")}, received ${describe(rule.kind)}`);
  }
  if (rule.kind === "status") {
    const status = rule.status;
    if (!(typeof status === "number" && Number.isInteger(status) && status >= 400 && status <= 599)) {
      throw new FaultError(`fault rule: status must be an HTTP error code 400..599, received ${describe(rule.status)}`);
    }
    if (
      rule.retryAfterSeconds !== undefined &&
      rule.retryAfterSeconds !== null &&
      !(Number.isInteger(rule.retryAfterSeconds) && rule.retryAfterSeconds >= 0)
    ) {
      throw new FaultError(
        `fault rule: retryAfterSeconds must be whole seconds >= 0, received ${describe(rule.retryAfterSeconds)}`,
      );
    }
  } else {
    for (const key of ["status", "retryAfterSeconds"] as const) {
      if (rule[key] !== undefined)
        throw new FaultError(`fault rule: ${key} applies to kind "status" only, not ${JSON.stringify(rule.kind)}`);
    }
  }
  if (rule.kind === "latency") {
    if (!(typeof rule.ms === "number" && Number.isFinite(rule.ms) && rule.ms >= 0)) {
      throw new FaultError(`fault rule: latency needs ms >= 0 (e.g. "latency:250"), received ${describe(rule.ms)}`);
    }
  } else if (rule.ms !== undefined) {
    throw new FaultError(`fault rule: ms applies to kind "latency" only, not ${JSON.stringify(rule.kind)}`);
  }
  if (rule.times !== undefined && rule.times !== null && !(Number.isInteger(rule.times) && rule.times > 0)) {
    throw new FaultError(
      `fault rule: times must be a whole number > 0 or null (always), received ${describe(rule.times)}`,
    );
  }
  const normalized: FaultRule = { ...rule };
  if (rule.method !== undefined) {
    if (typeof rule.method !== "string" || !/^[A-Za-z]+$/.test(rule.method)) {
      throw new FaultError(`fault rule: method must be an HTTP method such as POST, received ${describe(rule.method)}`);
    }
    normalized.method = rule.method.toUpperCase();
  }
  if (rule.path !== undefined) {
    if (typeof rule.path !== "string" || rule.path === "") {
      throw new FaultError(`fault rule: path must be a non-empty regular expression, received ${describe(rule.path)}`);
    }
    try {
      pathRegex(rule.path);
    } catch (cause) {
      throw new FaultError(
        `fault rule: path is not a valid regular expression: ${JSON.stringify(rule.path)} (${(cause as Error).message})`,
        { cause },
      );
    }
  }
  return normalized;
}

/** A rule's path must match the whole request path: `/v1/batch/jobs` does not cover `/v1/batch/jobs/{id}/cancel`. */
function pathRegex(path: string): RegExp {
  return new RegExp(`^(?:${path})$`);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export class Faults {
  private rules: ActiveRule[] = [];

  add(rules: FaultRule[]): void {
    for (const r of rules.map(validateRule)) {
      this.rules.push({
        ...r,
        remaining: r.times === undefined ? 1 : r.times,
        regex: r.path ? pathRegex(r.path) : null,
      });
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
      if (r.method && r.method !== method.toUpperCase()) continue; // rules hold upper-case methods
      if (r.regex && !r.regex.test(path)) continue;
      if (r.remaining !== null) r.remaining--;
      hits.push(r);
    }
    this.rules = this.rules.filter((r) => r.remaining === null || r.remaining > 0);
    return hits;
  }
}
