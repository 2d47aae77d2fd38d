/** Time source of the emulator. Tests use a manual clock and drive it; the CLI uses the wall clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. Starts at the wall-clock time of its creation unless given a start. */
export class ManualClock implements Clock {
  private t: number;
  constructor(startMs: number = Date.now()) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`ManualClock.advance: ms must be a finite number >= 0, received ${ms}`);
    }
    this.t += ms;
    return this.t;
  }
}
