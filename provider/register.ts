/**
 * Registering a resource without the stack traces Pulumi's runtime takes for its promise-leak report.
 *
 * For every property a resource registers, Pulumi's Node.js runtime makes a few promises and stores
 * `new Error().stack` on each (runtime/debuggable.ts, `debuggablePromise`); those traces are read only when the
 * program exits with promises still pending, to print where they were made. Every program runs with
 * source-map-support installed (cmd/run), which maps each trace frame by frame as it is taken: registering a BatchJob
 * (about 20 properties: its args and outputs) cost ~11 ms of the program's CPU, 1.16 s for 100 jobs, against
 * 0.24 s without the traces (measured with Pulumi 3.270 and mocks). Pulumi's own capture of where a resource is
 * declared (`sourcePosition`, resource.ts) sets its own limit and is not affected; a leak report still names the
 * resource and property of each promise, without the frames.
 */

/**
 * Turns V8's stack-trace capture off (`Error.stackTraceLimit = 0`) until the returned function is called: call it
 * around a resource's `super(...)` in a `try`/`finally`, so that nothing else runs without traces.
 */
export function pauseStackTraces(): () => void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return () => {
    Error.stackTraceLimit = limit;
  };
}
