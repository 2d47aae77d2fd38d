import { afterEach, describe, expect, it } from "vitest";
import { pauseStackTraces } from "../../provider/register";

const original = Error.stackTraceLimit;
afterEach(() => {
  Error.stackTraceLimit = original;
});

describe("pauseStackTraces", () => {
  it("takes no frames until restored, then the limit it found (nested pauses unwind in order)", () => {
    Error.stackTraceLimit = 7;
    const outer = pauseStackTraces();
    expect(new Error("paused").stack).toBe("Error: paused");
    const inner = pauseStackTraces();
    inner();
    expect(Error.stackTraceLimit).toBe(0);
    outer();
    expect(Error.stackTraceLimit).toBe(7);
    expect(new Error("restored").stack?.split("\n").length).toBeGreaterThan(1);
  });

  it("restores after a throw in try/finally, as the resources' constructors use it", () => {
    Error.stackTraceLimit = 10;
    expect(() => {
      const restore = pauseStackTraces();
      try {
        throw new Error("in registration");
      } finally {
        restore();
      }
    }).toThrow("in registration");
    expect(Error.stackTraceLimit).toBe(10);
  });
});
