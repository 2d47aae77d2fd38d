/**
 * The catalogue as the models API shows it: one `BaseModelCard` (spec schema) per fake model, with its dated
 * aliases and the capability flags of the endpoints it serves (the contract's `ENDPOINT_CAPABILITY`).
 */
import { ENDPOINT_CAPABILITY, MODEL_CAPABILITIES, type ModelCapability } from "pulumi-mistral-batch/api";
import type { ModelSpec } from "./catalogue";

/** `created` of every card: a fixed instant (2025-01-01T00:00:00Z), so that cards are deterministic. */
export const MODEL_CARD_CREATED = 1_735_689_600;

/** The spec's default `max_context_length`; the fake models do not enforce it. */
export const MODEL_CARD_CONTEXT_LENGTH = 32_768;

/** The capability flags of a model: each flag `false` except those its endpoints need. */
export function modelCapabilities(model: ModelSpec): Record<ModelCapability, boolean> {
  const flags = Object.fromEntries(MODEL_CAPABILITIES.map((c) => [c, false])) as Record<ModelCapability, boolean>;
  for (const endpoint of model.endpoints) {
    const capability = ENDPOINT_CAPABILITY[endpoint];
    if (capability) flags[capability] = true;
  }
  return flags;
}

/** The `BaseModelCard` of a model of the catalogue. */
export function modelCard(model: ModelSpec) {
  return {
    id: model.id,
    object: "model",
    created: MODEL_CARD_CREATED,
    owned_by: "mistralai",
    capabilities: modelCapabilities(model),
    name: model.id,
    description: `Emulated ${model.id}: serves ${model.endpoints.join(", ")}`,
    max_context_length: MODEL_CARD_CONTEXT_LENGTH,
    aliases: [...(model.aliases ?? [])],
    deprecation: null,
    deprecation_replacement_model: null,
    default_model_temperature: null,
    type: "base" as const,
  };
}
