/**
 * The model catalogue: the fake Mistral models the emulator serves (ids, aliases, endpoints, embedding
 * dimensions, accuracy profiles, list prices from the contract) and the lookup that checks a job's model.
 */
import { API_ENDPOINTS, listPrice, LIST_PRICES, type ApiEndpoint, type ModelPrice } from "pulumi-mistral-batch/api";

export interface ModelSpec {
  /** Model name as used in requests, e.g. "mistral-small-latest". */
  id: string;
  /** Endpoints this model serves. */
  endpoints: ApiEndpoint[];
  /** 0..1: rate of correct answers on checkable questions. */
  accuracy: number;
  /** Other names that resolve to this model (dated versions). */
  aliases?: string[];
  /** USD list price per million tokens (informational, approximate). */
  price?: ModelPrice;
  /** Default embedding size for embedding models (mistral-embed is 1024). */
  embeddingDimensions?: number;
  /** Largest `output_dimension` an embedding request may ask for; absent = `output_dimension` not supported. */
  maxOutputDimension?: number;
  /** 0..1 deterministic fraction of requests that fail with a per-request 500 error (default 0). */
  failureRate?: number;
  /**
   * Attempts of a request (same custom_id, across jobs) that `failureRate` fails: 1 makes the failures transient (a
   * request sent again succeeds), as the real service's 5xx mostly are. @default every attempt (permanent failures)
   */
  failureAttempts?: number;
  /**
   * A deterministic judge (for tests of judge scoring): its reply to a message holding `<expected>…</expected>` and
   * `<answer>…</answer>` is `CORRECT` when the answer contains the expected text as a whole word or number
   * (case-insensitive, whitespace collapsed), else `INCORRECT` (answers.ts `judgeVerdict`).
   */
  judge?: boolean;
}

const CHAT: ApiEndpoint = "/v1/chat/completions";
const EMBEDDINGS: ApiEndpoint = "/v1/embeddings";
const FIM: ApiEndpoint = "/v1/fim/completions";
const MODERATIONS: ApiEndpoint = "/v1/moderations";
const CHAT_MODERATIONS: ApiEndpoint = "/v1/chat/moderations";
const OCR: ApiEndpoint = "/v1/ocr";
const CLASSIFICATIONS: ApiEndpoint = "/v1/classifications";
const CHAT_CLASSIFICATIONS: ApiEndpoint = "/v1/chat/classifications";

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** The contract's list price of a model of the default catalogue (`provider/api/prices.ts`). */
function priced(id: string): ModelPrice {
  const p = listPrice(id);
  if (!p) throw new Error(`model catalogue: ${id} has no entry in the price list of ${LIST_PRICES.date}`);
  return p;
}

/**
 * The default catalogue. Prices are the contract's dated list (`LIST_PRICES`: illustrative list prices in USD per
 * million tokens of the synchronous API; batch is billed at 50%); check Mistral's pricing page for real figures.
 * Accuracies are made up, chosen so bigger models are visibly better.
 */
export const DEFAULT_MODELS: readonly ModelSpec[] = deepFreeze([
  {
    id: "mistral-large-latest",
    endpoints: [CHAT],
    accuracy: 0.92,
    aliases: ["mistral-large-2411"],
    price: priced("mistral-large-latest"),
  },
  {
    id: "magistral-medium-latest",
    endpoints: [CHAT],
    accuracy: 0.9,
    aliases: ["magistral-medium-2509"],
    price: priced("magistral-medium-latest"),
  },
  {
    id: "pixtral-large-latest",
    endpoints: [CHAT],
    accuracy: 0.88,
    aliases: ["pixtral-large-2411"],
    price: priced("pixtral-large-latest"),
  },
  {
    id: "mistral-medium-latest",
    endpoints: [CHAT],
    accuracy: 0.85,
    aliases: ["mistral-medium-2508"],
    price: priced("mistral-medium-latest"),
  },
  {
    id: "codestral-latest",
    endpoints: [CHAT, FIM],
    accuracy: 0.75,
    aliases: ["codestral-2508"],
    price: priced("codestral-latest"),
  },
  {
    id: "mistral-small-latest",
    endpoints: [CHAT],
    accuracy: 0.72,
    aliases: ["mistral-small-2506"],
    price: priced("mistral-small-latest"),
  },
  {
    id: "open-mistral-nemo",
    endpoints: [CHAT],
    accuracy: 0.62,
    aliases: ["open-mistral-nemo-2407"],
    price: priced("open-mistral-nemo"),
  },
  {
    id: "ministral-8b-latest",
    endpoints: [CHAT],
    accuracy: 0.6,
    aliases: ["ministral-8b-2410"],
    price: priced("ministral-8b-latest"),
  },
  {
    id: "ministral-3b-latest",
    endpoints: [CHAT],
    accuracy: 0.45,
    aliases: ["ministral-3b-2410"],
    price: priced("ministral-3b-latest"),
  },
  {
    id: "mistral-embed",
    endpoints: [EMBEDDINGS],
    accuracy: 1,
    aliases: ["mistral-embed-2312"],
    price: priced("mistral-embed"),
    embeddingDimensions: 1024,
  },
  {
    id: "codestral-embed",
    endpoints: [EMBEDDINGS],
    accuracy: 1,
    aliases: ["codestral-embed-2505"],
    price: priced("codestral-embed"),
    embeddingDimensions: 1536,
    maxOutputDimension: 3072,
  },
  {
    id: "mistral-moderation-latest",
    endpoints: [MODERATIONS, CHAT_MODERATIONS, CLASSIFICATIONS, CHAT_CLASSIFICATIONS],
    accuracy: 1,
    aliases: ["mistral-moderation-2411"],
    price: priced("mistral-moderation-latest"),
  },
  {
    // The emulator's own: a deterministic grader whose verdicts a test can compute (see ModelSpec.judge).
    id: "emulator-judge-latest",
    endpoints: [CHAT],
    accuracy: 1,
    aliases: ["emulator-judge-2512"],
    judge: true,
  },
  {
    // Priced per page in reality (about $1 per 1,000 pages), so no per-token price here.
    id: "mistral-ocr-latest",
    endpoints: [OCR],
    accuracy: 1,
    aliases: ["mistral-ocr-2505"],
  },
] satisfies ModelSpec[]);

export class ModelCatalogue {
  private models: readonly ModelSpec[];
  private readonly byName = new Map<string, ModelSpec>();

  constructor(models: readonly ModelSpec[] = DEFAULT_MODELS) {
    for (const m of models) {
      if (!m.id) throw new Error("model catalogue: a model has an empty id");
      if (!(m.accuracy >= 0 && m.accuracy <= 1)) throw new Error(`model catalogue: ${m.id} accuracy must be in [0, 1]`);
      const fr = m.failureRate ?? 0;
      if (!(fr >= 0 && fr <= 1)) throw new Error(`model catalogue: ${m.id} failureRate must be in [0, 1]`);
      for (const e of m.endpoints) {
        if (!(API_ENDPOINTS as readonly string[]).includes(e))
          throw new Error(`model catalogue: ${m.id} lists unknown endpoint ${e}`);
      }
      for (const name of [m.id, ...(m.aliases ?? [])]) {
        if (this.byName.has(name)) throw new Error(`model catalogue: duplicate model name ${name}`);
        this.byName.set(name, m);
      }
    }
    this.models = models;
  }

  /**
   * Gives the model `id` these aliases instead of its own, as Mistral moves an alias when it releases a version (for
   * tests: `PUT /__emulator/models/:model_id/aliases`). Throws for an unknown id or a name another model has.
   */
  setAliases(id: string, aliases: readonly string[]): ModelSpec {
    const model = this.models.find((m) => m.id === id);
    if (!model) throw new Error(`model catalogue: no model with id ${id}`);
    for (const name of aliases) {
      const other = this.byName.get(name);
      if (other && other !== model) throw new Error(`model catalogue: ${name} is a name of ${other.id}`);
    }
    for (const name of model.aliases ?? []) this.byName.delete(name);
    const moved: ModelSpec = { ...model, aliases: [...aliases] };
    this.models = this.models.map((m) => (m === model ? moved : m));
    for (const name of [moved.id, ...aliases]) this.byName.set(name, moved);
    return moved;
  }

  /** The model with this id or alias. */
  get(id: string): ModelSpec | undefined {
    return this.byName.get(id);
  }

  list(): ModelSpec[] {
    return [...this.models];
  }

  /** Null when `id` names a model that serves `endpoint`; otherwise a message naming the model and what is allowed. */
  checkModel(id: string, endpoint: ApiEndpoint): string | null {
    if (!(API_ENDPOINTS as readonly string[]).includes(endpoint)) {
      return `Unknown endpoint '${endpoint}'. Allowed endpoints: ${API_ENDPOINTS.join(", ")}.`;
    }
    const serving = this.models.filter((m) => m.endpoints.includes(endpoint)).map((m) => m.id);
    const servingText = serving.length
      ? `Models that serve ${endpoint}: ${serving.join(", ")}.`
      : `No model of this emulator serves ${endpoint}.`;
    if (typeof id !== "string" || id === "") return `A model is required. ${servingText}`;
    const model = this.get(id);
    if (!model) return `Invalid model: '${id}' does not exist. ${servingText}`;
    if (!model.endpoints.includes(endpoint)) {
      const name = model.id === id ? `'${id}'` : `'${id}' (${model.id})`;
      return `Model ${name} does not support endpoint ${endpoint}; it serves ${model.endpoints.join(", ")}. ${servingText}`;
    }
    return null;
  }
}
