/**
 * Each resource's stored shape is declared once (its `XInputs` and `XOutputs` interfaces, TSDoc on every field)
 * and the public faces are derived from it: the args users pass, the outputs they read, and the keys the
 * constructor registers as outputs. The mapped types here are homomorphic (`[K in keyof T]`), so every derived
 * field keeps the TSDoc of the field it comes from.
 */
import type * as pulumi from "@pulumi/pulumi";

/** A stored value as users may give it: an Input, and for a list, each item an Input too. */
export type InputOf<T> = [T] extends [readonly (infer U)[]] ? pulumi.Input<pulumi.Input<U>[]> : pulumi.Input<T>;

/**
 * The public args of stored fields `T`: the same fields and optionality, each an {@link InputOf} its stored type.
 * `Override` gives the public type of a field whose stored type is looser than what users may pass (e.g. a union
 * the provider stores as a string): the field keeps its TSDoc, only its type is replaced.
 */
export type Args<T, Override extends { [K in keyof T]?: unknown } = Record<never, never>> = {
  [K in keyof T]: K extends keyof Override ? Override[K] : InputOf<Exclude<T[K], undefined>>;
};

/** The outputs of a resource, one `pulumi.Output` per stored output field (merged into the resource class). */
export type Outputs<T> = { readonly [K in keyof T]-?: pulumi.Output<T[K]> };

/**
 * The output-only keys a resource's constructor registers, each `undefined` (the provider sets them): typing the
 * list as `OutputOnly<...>` makes a forgotten or extra key a type error.
 */
export type OutputOnly<T> = { [K in keyof T]-?: undefined };

/**
 * The props a resource registers (`satisfies Registers<...>`): they must name every public output, so that Pulumi
 * creates its property; other keys (the args, internal inputs) are allowed.
 */
export type Registers<T> = { [K in keyof T]-?: unknown } & { [key: string]: unknown };
