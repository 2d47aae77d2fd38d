/**
 * Progress lines from inside the provider (submission, waiting, cancellation). The provider runs in its own
 * process under the Pulumi engine; its stderr is where such lines go. The API key of the context a line is
 * reported in is redacted from it.
 */
import type { Redactor } from "./client";

export type Reporter = (line: string) => void;

let reporter: Reporter = (line) => process.stderr.write(`pulumi-mistral-batch: ${line}\n`);

export function report(ctx: Redactor, line: string): void {
  reporter(ctx.redact(line));
}

/** For tests and embedding: where progress lines go. Returns the previous reporter. */
export function setReporter(next: Reporter): Reporter {
  const previous = reporter;
  reporter = next;
  return previous;
}
