/**
 * An argument of an Evaluation that cannot be planned: the message names the evaluation, the argument, the value
 * and what is allowed. The component turns it into an error the engine prints without a stack (evaluation.ts).
 */
export class EvaluationArgumentError extends Error {
  override name = "EvaluationArgumentError";
}

/** Throws an EvaluationArgumentError for Evaluation `name`. */
export function fail(name: string, message: string): never {
  throw new EvaluationArgumentError(`Evaluation "${name}": ${message}`);
}
