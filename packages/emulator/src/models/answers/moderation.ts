/**
 * Moderations and classifications (plain text and chat): keyword rules over the moderation categories of
 * mistral-moderation-2411, with deterministic scores.
 */
import type { ModelSpec } from "../catalogue";
import { prng } from "../hashing";
import { hexId, type Handler } from "./common";
import { describe, fail, isFail, isObject, parseMessages, stringInputs, type Fail } from "./parse";

// Moderation: categories of the spec's examples (mistral-moderation-2411).
const MODERATION_RULES: Record<string, RegExp> = {
  sexual: /\b(sex|sexual|porn\w*|nude|nudity|explicit)\b/i,
  hate_and_discrimination: /\b(hate|hateful|hating|racist|racism|bigot\w*|slur|inferior race)\b/i,
  violence_and_threats:
    /\b(kill\w*|murder\w*|shoot\w*|stab\w*|attack\w*|beat (?:you|him|her|them) up|threat\w*|hurt (?:you|him|her|them))\b/i,
  dangerous_and_criminal_content:
    /\b(bomb\w*|explosives?|weapons?|steal\w*|hack\w*|launder\w*|meth|cocaine|poison\w*)\b/i,
  selfharm: /\b(suicide|suicidal|self[- ]harm|kill myself|hurt myself|cut myself)\b/i,
  health: /\b(diagnos\w*|symptoms?|medicines?|medications?|dosage|disease|prescription)\b/i,
  financial: /\b(invest\w*|stocks?|loans?|crypto\w*|mortgage|trading|portfolio)\b/i,
  law: /\b(lawsuit|legal advice|lawyer|attorney|sue|court|contract law)\b/i,
  pii: /(\b[\w.+-]+@[\w-]+\.[\w.]+\b|\b\d{3}[- ]\d{2}[- ]\d{4}\b|\b(?:\+?\d[\d -]{8,}\d)\b|\b(ssn|social security number|passport number|credit card number)\b)/i,
};
const MODERATION_CATEGORIES = Object.keys(MODERATION_RULES);

function moderationScores(model: ModelSpec, text: string): Record<string, number> {
  const rnd = prng(`${model.id}\u0000mod\u0000${text}`);
  const scores: Record<string, number> = {};
  for (const [c, rule] of Object.entries(MODERATION_RULES)) {
    const base = rule.test(text) ? 0.62 + rnd() * 0.37 : 0.0001 + rnd() * 0.0049;
    scores[c] = Math.round(base * 1e8) / 1e8;
  }
  return scores;
}

function moderationObject(model: ModelSpec, text: string): Record<string, unknown> {
  const scores = moderationScores(model, text);
  const categories: Record<string, boolean> = {};
  for (const c of MODERATION_CATEGORIES) categories[c] = scores[c] >= 0.5;
  return { categories, category_scores: scores };
}

export const moderations: Handler = (body) => {
  const inputs = stringInputs(body.input, "body.input");
  if (isFail(inputs)) return inputs;
  return ({ model, seed }) => ({
    id: hexId(seed, "mod"),
    model: model.id,
    results: inputs.map((t) => moderationObject(model, t)),
  });
};

/** `input` of chat moderations: one conversation (messages) or a list of conversations. */
function conversations(value: unknown, where: string): string[] | Fail {
  if (value === undefined || value === null) return fail(422, `${where}: field required`);
  if (!Array.isArray(value) || value.length === 0)
    return fail(422, `${where}: must be a non-empty array of messages or of conversations`);
  const lists: unknown[] = Array.isArray(value[0]) ? value : [value];
  const out: string[] = [];
  for (let i = 0; i < lists.length; i++) {
    const msgs = parseMessages(lists[i], lists === value ? `${where}[${i}]` : where);
    if (isFail(msgs)) return msgs;
    out.push(msgs.map((m) => m.text).join("\n"));
  }
  return out;
}

export const chatModerations: Handler = (body) => {
  const texts = conversations(body.input, "body.input");
  if (isFail(texts)) return texts;
  return ({ model, seed }) => ({
    id: hexId(seed, "mod"),
    model: model.id,
    results: texts.map((t) => moderationObject(model, t)),
  });
};

/** Classification results: one target, `moderation`, scored over the moderation categories. */
function classificationResult(model: ModelSpec, text: string): Record<string, unknown> {
  return { moderation: { scores: moderationScores(model, text) } };
}

export const classifications: Handler = (body) => {
  const inputs = stringInputs(body.input, "body.input");
  if (isFail(inputs)) return inputs;
  return ({ model, seed }) => ({
    id: hexId(seed, "cls"),
    model: model.id,
    results: inputs.map((t) => classificationResult(model, t)),
  });
};

export const chatClassifications: Handler = (body) => {
  const input = body.input;
  if (input === undefined || input === null) return fail(422, "body.input: field required");
  const items: unknown[] = Array.isArray(input) ? input : [input];
  if (items.length === 0) return fail(422, "body.input: must not be empty");
  const texts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = Array.isArray(input) ? `body.input[${i}]` : "body.input";
    if (!isObject(item)) return fail(422, `${at}: must be an object with messages (got ${describe(item)})`);
    const msgs = parseMessages(item.messages, `${at}.messages`);
    if (isFail(msgs)) return msgs;
    texts.push(msgs.map((m) => m.text).join("\n"));
  }
  return ({ model, seed }) => ({
    id: hexId(seed, "cls"),
    model: model.id,
    results: texts.map((t) => classificationResult(model, t)),
  });
};
