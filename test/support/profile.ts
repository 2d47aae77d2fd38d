/**
 * The emulator profile a test run plays (`MISTRAL_EMULATOR_PROFILE`, set per vitest project in vitest.config.mts):
 * "spec" (the OpenAPI spec, strictly) or "observed" (the real service as observed). The provider's integration and
 * engine suites start their emulators with it, so they run against both.
 */
import type { EmulatorOptions } from "mistral-batch-emulator";

export type Profile = NonNullable<EmulatorOptions["profile"]>;

export function testProfile(): Profile {
  const value = process.env.MISTRAL_EMULATOR_PROFILE ?? "spec";
  if (value !== "spec" && value !== "observed") {
    throw new Error(`MISTRAL_EMULATOR_PROFILE is ${JSON.stringify(value)}; expected "spec" or "observed"`);
  }
  return value;
}
