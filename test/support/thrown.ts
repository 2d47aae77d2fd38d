/** The message of the error `fn` throws; fails the test when it throws nothing. */
export function thrownMessage(fn: () => unknown, what = "the call"): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${what} did not throw`);
}
