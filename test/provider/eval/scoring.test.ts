/**
 * Scorers (provider/eval/scoring.ts): normalisation, validation messages, every scorer type's edge cases, and the
 * application of a user's ScoreFn.
 */
import { describe, expect, it } from "vitest";
import {
  answerJson,
  applyScoreFn,
  checkScorer,
  compileScorer,
  escapeRegExp,
  getPath,
  jsonEqual,
  lastNumber,
  normalize,
  score,
  toScore,
} from "../../../provider/eval/scoring";
import type { Scorer } from "../../../provider/eval/types";

describe("normalize", () => {
  it("trims, collapses whitespace, strips trailing punctuation and case-folds", () => {
    expect(normalize("  The  Answer\n\tis 42. ")).toBe("the answer is 42");
    expect(normalize("Paris!?")).toBe("paris");
    expect(normalize("U.S.A.")).toBe("u.s.a");
    expect(normalize("答えは四。")).toBe("答えは四");
    expect(normalize("...")).toBe("");
    expect(normalize("")).toBe("");
  });

  it("keeps case when case-sensitive, and inner punctuation always", () => {
    expect(normalize(" Hello,  World. ", true)).toBe("Hello, World");
  });

  it("compares composed and decomposed accents as equal (NFC)", () => {
    expect(normalize("Bras\u0069\u0301lia")).toBe(normalize("Brasília"));
  });
});

describe("checkScorer", () => {
  it("accepts every valid scorer", () => {
    const valid: Scorer[] = [
      { type: "exact" },
      { type: "exact", caseSensitive: true },
      { type: "contains", caseSensitive: false },
      { type: "regex", pattern: "^The answer is {expected}\\.$" },
      { type: "regex", pattern: "^{expected}$", flags: "iu" },
      { type: "numeric" },
      { type: "numeric", tolerance: 0.5, relativeTolerance: 0.01 },
      { type: "json-field", field: "answer" },
      { type: "json-field", field: "result.items.0.name" },
    ];
    for (const s of valid) expect(checkScorer(s), JSON.stringify(s)).toEqual([]);
  });

  it("names an unknown type, the value received and the allowed values", () => {
    expect(checkScorer({ type: "fuzzy" })).toEqual([
      'scorer.type is "fuzzy"; expected one of "exact", "contains", "regex", "numeric", "json-field", "judge"',
    ]);
    expect(checkScorer({})[0]).toMatch(/^scorer\.type is missing; expected one of/);
    expect(checkScorer(null)[0]).toMatch(/^scorer is null; expected an object \{ type: "exact" \| "contains"/);
    expect(checkScorer("exact")[0]).toMatch(/^scorer is "exact"/);
  });

  it("names a field the type does not take (a typo)", () => {
    expect(checkScorer({ type: "numeric", tolerence: 1 })).toEqual([
      'scorer.tolerence is 1; a "numeric" scorer takes only type, tolerance, relativeTolerance',
    ]);
    expect(checkScorer({ type: "exact", pattern: "x" })[0]).toMatch(
      /scorer\.pattern is "x"; a "exact" scorer takes only type, caseSensitive/,
    );
  });

  it("rejects a non-boolean caseSensitive", () => {
    expect(checkScorer({ type: "contains", caseSensitive: "yes" })).toEqual([
      'scorer.caseSensitive is "yes"; expected true or false (default false)',
    ]);
  });

  it("rejects a missing, empty or invalid regex and bad flags", () => {
    expect(checkScorer({ type: "regex" })[0]).toMatch(
      /^scorer\.pattern is missing; expected a non-empty regular expression/,
    );
    expect(checkScorer({ type: "regex", pattern: "" })[0]).toMatch(/^scorer\.pattern is ""/);
    const bad = checkScorer({ type: "regex", pattern: "(unclosed" });
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(
      /^scorer\.pattern is "\(unclosed"; expected a valid JavaScript regular expression .*Invalid regular expression/,
    );
    expect(checkScorer({ type: "regex", pattern: "a", flags: "gg" })[0]).toMatch(
      /^scorer\.flags is "gg"; expected a string of distinct flags among d, g, i, m, s, u, v, y/,
    );
    expect(checkScorer({ type: "regex", pattern: "a", flags: "x" })[0]).toMatch(/^scorer\.flags is "x"/);
    expect(checkScorer({ type: "regex", pattern: "a", flags: 1 })[0]).toMatch(/^scorer\.flags is 1/);
    // u and v together is a SyntaxError of the RegExp constructor: reported on the pattern, with the flags
    expect(checkScorer({ type: "regex", pattern: "a", flags: "uv" })[0]).toMatch(
      /^scorer\.pattern is "a"; .*with flags "uv"/,
    );
    // under the u flag, "\-" is invalid outside a class: caught
    expect(checkScorer({ type: "regex", pattern: "a\\-b", flags: "u" })).toHaveLength(1);
  });

  it("rejects negative, non-finite or non-number tolerances", () => {
    expect(checkScorer({ type: "numeric", tolerance: -1 })).toEqual([
      "scorer.tolerance is -1; expected a finite number >= 0 (absolute, default 0)",
    ]);
    expect(checkScorer({ type: "numeric", relativeTolerance: "0.1" })[0]).toMatch(
      /^scorer\.relativeTolerance is "0\.1"; expected a finite number >= 0/,
    );
    expect(checkScorer({ type: "numeric", tolerance: Number.NaN })).toHaveLength(1);
    expect(checkScorer({ type: "numeric", tolerance: Infinity, relativeTolerance: -0.1 })).toHaveLength(2);
  });

  it("rejects an empty or malformed json-field path", () => {
    expect(checkScorer({ type: "json-field" })[0]).toMatch(/^scorer\.field is missing; expected a non-empty dot path/);
    expect(checkScorer({ type: "json-field", field: "" })[0]).toMatch(/^scorer\.field is ""/);
    for (const f of ["a..b", ".a", "a."])
      expect(checkScorer({ type: "json-field", field: f })[0]).toMatch(/without empty segments/);
  });

  it("prefixes messages with the given location", () => {
    expect(checkScorer({ type: "nope" }, "args.scorer")[0]).toMatch(/^args\.scorer\.type is "nope"/);
  });

  it("compileScorer throws with every problem", () => {
    expect(() => compileScorer({ type: "numeric", tolerance: -1, relativeTolerance: -1 } as Scorer)).toThrow(
      /tolerance is -1[\s\S]*relativeTolerance is -1/,
    );
  });
});

describe("exact", () => {
  const s: Scorer = { type: "exact" };
  it("compares normal forms", () => {
    expect(score(s, "Paris.", "paris")).toBe(1);
    expect(score(s, "  paris  ", "Paris")).toBe(1);
    expect(score(s, "Paris", "Lyon")).toBe(0);
    expect(score(s, "The answer is Paris.", "Paris")).toBe(0);
    expect(score(s, "", "")).toBe(1);
  });
  it("caseSensitive", () => {
    expect(score({ type: "exact", caseSensitive: true }, "paris", "Paris")).toBe(0);
    expect(score({ type: "exact", caseSensitive: true }, "Paris.", "Paris")).toBe(1);
  });
  it("non-string expected values compare as written", () => {
    expect(score(s, "42", 42)).toBe(1);
    expect(score(s, "true", true)).toBe(1);
    expect(score(s, '{"a":1}', { a: 1 })).toBe(1);
    expect(score(s, "null", null)).toBe(1);
  });
  it("throws without an expected answer", () => {
    expect(() => score(s, "x", undefined)).toThrow("exact scorer: there is no expected answer to score against");
  });
});

describe("contains", () => {
  const s: Scorer = { type: "contains" };
  it("finds the normalised expected text in the normalised answer", () => {
    expect(score(s, "The answer is Paris.", "paris")).toBe(1);
    expect(score(s, "The  capital\nis   Paris", "capital is paris")).toBe(1);
    expect(score(s, "Paris is nice", "Paris.")).toBe(1); // expected's trailing punctuation is stripped
    expect(score(s, "The answer is Lyon.", "Paris")).toBe(0);
  });
  it("has no word boundaries (documented): 4 is in 42", () => {
    expect(score(s, "The answer is 42.", 4)).toBe(1);
  });
  it("an empty expected answer matches only an empty answer", () => {
    expect(score(s, "anything", "")).toBe(0);
    expect(score(s, "", "")).toBe(1);
    expect(score(s, "...", " ")).toBe(1);
  });
  it("caseSensitive", () => {
    expect(score({ type: "contains", caseSensitive: true }, "the answer is paris", "Paris")).toBe(0);
  });
});

describe("regex", () => {
  it("substitutes the escaped expected answer for every {expected}", () => {
    const s: Scorer = { type: "regex", pattern: "^The answer is {expected}\\.$" };
    expect(score(s, "The answer is 3.5.", "3.5")).toBe(1);
    expect(score(s, "The answer is 3x5.", "3.5")).toBe(0); // the dot of 3.5 is literal
    expect(score(s, "The answer is a+b(c)[d]{e}|f^$\\/.", "a+b(c)[d]{e}|f^$\\/")).toBe(1);
    expect(score({ type: "regex", pattern: "{expected} and {expected}" }, "x and x", "x")).toBe(1);
    expect(score({ type: "regex", pattern: "{expected} and {expected}" }, "x and y", "x")).toBe(0);
    expect(score({ type: "regex", pattern: "\\b{expected}\\b" }, "The answer is 42.", 4)).toBe(0);
    expect(score({ type: "regex", pattern: "\\b{expected}\\b" }, "The answer is 42.", 42)).toBe(1);
  });
  it("escapes so that the u flag accepts any expected text", () => {
    expect(score({ type: "regex", pattern: "^{expected}$", flags: "u" }, "a-b{}", "a-b{}")).toBe(1);
    expect(() => new RegExp(escapeRegExp("()[]{}-/\\.*+?^$|"), "u")).not.toThrow();
    expect(() => new RegExp(escapeRegExp("()[]{}-/\\.*+?^$|"), "v")).not.toThrow();
  });
  it("without a placeholder, matches the pattern alone; flags apply", () => {
    expect(score({ type: "regex", pattern: "^the answer", flags: "i" }, "The answer is 1.", "ignored")).toBe(1);
    expect(score({ type: "regex", pattern: "^the answer" }, "The answer is 1.", "ignored")).toBe(0);
  });
  it("the g flag does not make repeated scoring stateful", () => {
    const f = compileScorer({ type: "regex", pattern: "answer", flags: "g" });
    expect([f("answer", 1), f("answer", 1), f("answer", 1)]).toEqual([1, 1, 1]);
  });
});

describe("lastNumber", () => {
  it.each([
    ["The answer is 42.", 42],
    ["The answer is -7.", -7],
    ["The answer is −3.", -3],
    ["2 + 2 = 4", 4],
    ["It costs 1,234,567.89 euros", 1234567.89],
    ["12,5", 5],
    ["1,2345", 2345],
    ["pages 3-5", 5],
    ["about .5 litres", 0.5],
    ["1e3 items", 1000],
    ["+8", 8],
    ["50%", 50],
    ["version 1.2.3", 3],
  ])("%j -> %d", (text, n) => {
    expect(lastNumber(text)).toBe(n);
  });
  it("null without a number", () => {
    expect(lastNumber("no number here")).toBeNull();
    expect(lastNumber("")).toBeNull();
  });
});

describe("numeric", () => {
  const s: Scorer = { type: "numeric" };
  it("compares the last number with a number or a numeric string", () => {
    expect(score(s, "The answer is 42.", 42)).toBe(1);
    expect(score(s, "The answer is 42.", "42")).toBe(1);
    expect(score(s, "The answer is 42.", " 42 ")).toBe(1);
    expect(score(s, "The answer is 1,000.", "1,000")).toBe(1);
    expect(score(s, "The answer is 41.", 42)).toBe(0);
    expect(score(s, "First 42, then 41.", 42)).toBe(0);
    expect(score(s, "The answer is 42.0", 42)).toBe(1);
    expect(score(s, "The answer is -0", 0)).toBe(1);
  });
  it("no number in the answer scores 0", () => {
    expect(score(s, "I don't know.", 42)).toBe(0);
  });
  it("absolute tolerance, with slack for binary rounding", () => {
    expect(score({ type: "numeric", tolerance: 1 }, "41", 42)).toBe(1);
    expect(score({ type: "numeric", tolerance: 1 }, "40.9", 42)).toBe(0);
    expect(score({ type: "numeric", tolerance: 0.01 }, "1.01", 1)).toBe(1); // 1.01 - 1 = 0.010000000000000009
    expect(score({ type: "numeric", tolerance: 0.01 }, "1.0101", 1)).toBe(0);
    expect(score(s, "0.3", 0.1 + 0.2)).toBe(1);
  });
  it("relative tolerance, of |expected|; the larger tolerance wins", () => {
    expect(score({ type: "numeric", relativeTolerance: 0.05 }, "104", 100)).toBe(1);
    expect(score({ type: "numeric", relativeTolerance: 0.05 }, "106", 100)).toBe(0);
    expect(score({ type: "numeric", relativeTolerance: 0.05 }, "-104", -100)).toBe(1);
    expect(score({ type: "numeric", relativeTolerance: 0.05 }, "0.001", 0)).toBe(0);
    expect(score({ type: "numeric", relativeTolerance: 0.01, tolerance: 5 }, "104", 100)).toBe(1);
  });
  it("throws for an expected value that is not one number, naming it", () => {
    expect(() => score(s, "42", "forty-two")).toThrow(
      'numeric scorer: the expected answer is "forty-two"; expected a finite number or a string holding one number',
    );
    expect(() => score(s, "42", "1 2")).toThrow(/"1 2"/);
    expect(() => score(s, "42", Number.NaN)).toThrow(/expected a finite number/);
    expect(() => score(s, "42", null)).toThrow(/is null/);
    expect(() => score(s, "42", [42])).toThrow(/is \[42\]/);
  });
});

describe("json-field", () => {
  const s: Scorer = { type: "json-field", field: "answer" };
  it("reads plain JSON, fenced JSON and JSON inside text", () => {
    expect(score(s, '{"answer": 42}', 42)).toBe(1);
    expect(score(s, '```json\n{"answer": 42}\n```', 42)).toBe(1);
    expect(score(s, '```\n{"answer": 42}\n```', 42)).toBe(1);
    expect(score(s, 'Here you go:\n```JSON\n{"answer": 42}\n```\nAnything else?', 42)).toBe(1);
    expect(score(s, 'Sure: {"answer": 42} - done', 42)).toBe(1);
    expect(score(s, '{"answer":"The answer is 42."}', "The answer is 42.")).toBe(1); // the emulator's JSON mode
  });
  it("JSON equality: types matter, object key order does not", () => {
    expect(score(s, '{"answer": 42}', "42")).toBe(0);
    expect(score(s, '{"answer": {"b": [1, {"c": null}], "a": true}}', { a: true, b: [1, { c: null }] })).toBe(1);
    expect(score(s, '{"answer": {"a": 1, "b": 2}}', { a: 1 })).toBe(0);
    expect(score(s, '{"answer": [1, 2]}', [2, 1])).toBe(0);
    expect(score(s, '{"answer": null}', null)).toBe(1);
  });
  it("dot paths with array indices", () => {
    const doc = '{"result": {"items": [{"name": "a"}, {"name": "b"}]}}';
    expect(score({ type: "json-field", field: "result.items.1.name" }, doc, "b")).toBe(1);
    expect(score({ type: "json-field", field: "result.items.2.name" }, doc, "b")).toBe(0);
    expect(score({ type: "json-field", field: "result.items.x" }, doc, "b")).toBe(0);
    expect(score({ type: "json-field", field: "result.items.0.name.length" }, doc, 1)).toBe(0);
    expect(score({ type: "json-field", field: "0" }, "[5]", 5)).toBe(1);
  });
  it("unparseable answers and missing fields score 0", () => {
    expect(score(s, "The answer is 42.", 42)).toBe(0);
    expect(score(s, '{"answer": 42', 42)).toBe(0);
    expect(score(s, '{"other": 42}', 42)).toBe(0);
    expect(score(s, '{"toString": 1}', 1)).toBe(0);
    expect(score({ type: "json-field", field: "toString" }, "{}", 1)).toBe(0);
  });
  it("helpers", () => {
    expect(answerJson("nope")).toEqual({ ok: false });
    expect(answerJson(" [1,2] ")).toEqual({ ok: true, value: [1, 2] });
    expect(getPath({ a: [{ b: 1 }] }, "a.0.b")).toBe(1);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual(1, "1")).toBe(false);
  });
});

describe("ScoreFn results", () => {
  it("toScore: booleans to 0/1, numbers in [0, 1], rounding slack clamped", () => {
    expect(toScore(true)).toBe(1);
    expect(toScore(false)).toBe(0);
    expect(toScore(0.25)).toBe(0.25);
    expect(toScore(1 + 1e-12)).toBe(1);
    expect(toScore(-1e-12)).toBe(0);
  });
  it("toScore: anything else is a clear error", () => {
    expect(() => toScore(1.5)).toThrow("scoreFn returned 1.5; expected true/false or a finite number in [0, 1]");
    expect(() => toScore(-0.1)).toThrow("scoreFn returned -0.1");
    expect(() => toScore(Number.NaN)).toThrow("scoreFn returned NaN");
    expect(() => toScore(Infinity)).toThrow("scoreFn returned Infinity");
    expect(() => toScore("1")).toThrow('scoreFn returned "1"');
    expect(() => toScore(undefined)).toThrow("scoreFn returned missing");
    expect(() => toScore(null)).toThrow("scoreFn returned null");
    expect(() => toScore(Promise.resolve(1))).toThrow("scoreFn returned a Promise; a ScoreFn must be synchronous");
  });
  it("applyScoreFn passes answer, expected and item, and names the item on failure", () => {
    const seen: unknown[] = [];
    const fn = (answer: string, expected: unknown, item: { customId: string; prompt: string }) => {
      seen.push([answer, expected, item]);
      return answer.includes(String(expected));
    };
    expect(applyScoreFn(fn, "The answer is 4.", 4, { customId: "q1", prompt: "2+2?" })).toBe(1);
    expect(seen).toEqual([["The answer is 4.", 4, { customId: "q1", prompt: "2+2?" }]]);
    expect(() => applyScoreFn(() => 2, "a", 1, { customId: "q2", prompt: "" }, "mistral-small-latest")).toThrow(
      'scoreFn for custom_id "q2" (model mistral-small-latest) returned 2; expected true/false or a finite number in [0, 1]',
    );
    const boom = new TypeError("cannot read x");
    let caught: Error | undefined;
    try {
      applyScoreFn(
        () => {
          throw boom;
        },
        "a",
        1,
        { customId: "q3", prompt: "" },
      );
    } catch (e) {
      caught = e as Error;
    }
    expect(caught?.message).toBe('scoreFn for custom_id "q3" threw: cannot read x');
    expect(caught?.cause).toBe(boom);
  });
});
