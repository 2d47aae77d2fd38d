/**
 * `pulumi-mistral-batch/runtime/set`: the provider of RequestSet as Pulumi serializes it (thin.ts). State names this
 * module, so it is a frozen entry point: never rename or remove it or its seven exports.
 */
import { entryPoints } from "./methods";

const methods = entryPoints("set");

/** Called by the dynamic provider host with the stack config, before the first other call. */
export const configure = methods.configure;
/** Validates and normalises the inputs. */
export const check = methods.check;
/** Compares stored outputs with new inputs. */
export const diff = methods.diff;
/** Creates the remote object. */
export const create = methods.create;
/** Reads the remote object (refresh). */
export const read = methods.read;
/** Updates in place what can be. */
export const update = methods.update;
const remove = methods.delete;
/** Deletes the remote object (destroy). */
export { remove as delete };
