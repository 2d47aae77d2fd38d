/**
 * The models API (both profiles): `client.models.list()` and `client.models.retrieve()` of the official SDK against
 * the emulator over HTTP, every raw response validated against Mistral's OpenAPI spec. Cards come from the
 * emulator's catalogue: capabilities per the contract's ENDPOINT_CAPABILITY, aliases the catalogue's dated ones.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BaseModelCard } from "@mistralai/mistralai/models/components";
import { SDKError } from "@mistralai/mistralai/models/errors";
import { DEFAULT_MODELS, startEmulator, type Emulator } from "mistral-batch-emulator";
import { ENDPOINT_CAPABILITY, modelNotFoundError } from "pulumi-mistral-batch/api";
import { checkedClient, type CheckedClient } from "../support/client";
import { expectResponseValid, operationIds } from "../support/openapi";

const profiles = ["spec", "observed"] as const;
const emulators = new Map<string, { emulator: Emulator; c: CheckedClient }>();

beforeAll(async () => {
  for (const profile of profiles) {
    const emulator = await startEmulator({ profile });
    emulators.set(profile, { emulator, c: checkedClient(emulator.url) });
  }
});
afterAll(async () => {
  await Promise.all([...emulators.values()].map(({ emulator }) => emulator.close()));
});
afterEach(() => {
  for (const { c } of emulators.values()) expect(c.violations).toEqual([]);
});

/** The card as a base model's (every catalogue model is one); fails the test otherwise. */
function base(card: unknown): BaseModelCard {
  expect((card as { type?: unknown } | undefined)?.type).toBe("base");
  return card as BaseModelCard;
}

function of(profile: string): { emulator: Emulator; c: CheckedClient } {
  const found = emulators.get(profile);
  if (!found) throw new Error(`no emulator for profile ${profile}`);
  return found;
}

describe.each(profiles)("models API (%s profile)", (profile) => {
  it("lists every catalogue model with its aliases and capabilities", async () => {
    const { c } = of(profile);
    const list = await c.client.models.list();
    expect(c.validated).toContain(operationIds.listModels);
    expect(list.object).toBe("list");
    const data = (list.data ?? []).map(base);
    expect(data.map((m) => m.id)).toEqual(DEFAULT_MODELS.map((m) => m.id));
    for (const spec of DEFAULT_MODELS) {
      const card = data.find((m) => m.id === spec.id);
      expect(card?.type).toBe("base");
      expect(card?.aliases).toEqual(spec.aliases ?? []);
      const caps = (card?.capabilities ?? {}) as Record<string, unknown>;
      for (const endpoint of spec.endpoints) {
        const flag = ENDPOINT_CAPABILITY[endpoint];
        if (flag) expect(caps[flag.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase())]).toBe(true);
      }
    }
    const small = data.find((m) => m.id === "mistral-small-latest");
    expect(small?.capabilities).toMatchObject({ completionChat: true, completionFim: false, ocr: false });
    const codestral = data.find((m) => m.id === "codestral-latest");
    expect(codestral?.capabilities).toMatchObject({ completionChat: true, completionFim: true });
    const moderation = data.find((m) => m.id === "mistral-moderation-latest");
    expect(moderation?.capabilities).toMatchObject({ moderation: true, classification: true, completionChat: false });
  });

  it("moves an alias for tests (PUT /__emulator/models/:id/aliases): the list and the card follow; bad input is refused", async () => {
    const { emulator, c } = of(profile);
    const put = (id: string, body: unknown) =>
      fetch(`${emulator.url}/__emulator/models/${id}/aliases`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const before = DEFAULT_MODELS.find((m) => m.id === "mistral-small-latest")?.aliases ?? [];
    try {
      expect((await put("mistral-small-latest", { aliases: ["mistral-small-2512"] })).status).toBe(200);
      const card = base(await c.client.models.retrieve({ modelId: "mistral-small-2512" }));
      expect(card).toMatchObject({ id: "mistral-small-latest", aliases: ["mistral-small-2512"] });
      const listed = (await c.client.models.list()).data?.map(base).find((m) => m.id === "mistral-small-latest");
      expect(listed?.aliases).toEqual(["mistral-small-2512"]);
      expect((await fetch(`${emulator.url}/v1/models/${before[0]}`)).status).toBe(404);
      expect((await put("no-such-model", { aliases: ["x-2512"] })).status).toBe(404);
      expect((await put("mistral-small-latest", { aliases: ["mistral-large-latest"] })).status).toBe(404);
      expect((await put("mistral-small-latest", { aliases: "mistral-small-2512" })).status).toBe(400);
    } finally {
      await put("mistral-small-latest", { aliases: before });
    }
  });

  it("filters the list by the spec's model query parameter", async () => {
    const { emulator } = of(profile);
    const res = await fetch(`${emulator.url}/v1/models?model=mistral-embed-2312`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { id: string }[] };
    expectResponseValid(operationIds.listModels, 200, body);
    expect(body.data.map((m) => m.id)).toEqual(["mistral-embed"]);
  });

  it("retrieves a model by id and by dated alias", async () => {
    const { c } = of(profile);
    const byId = base(await c.client.models.retrieve({ modelId: "mistral-ocr-latest" }));
    expect(c.validated).toContain(operationIds.retrieveModel);
    expect(byId).toMatchObject({ id: "mistral-ocr-latest", type: "base", aliases: ["mistral-ocr-2505"] });
    expect(byId.capabilities).toMatchObject({ ocr: true, completionChat: false });
    const byAlias = base(await c.client.models.retrieve({ modelId: "mistral-large-2411" }));
    expect(byAlias.id).toBe("mistral-large-latest");
  });

  it("answers 404 with the contract's body for an unknown model id", async () => {
    const { c, emulator } = of(profile);
    const error = await c.client.models.retrieve({ modelId: "no-such-model" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SDKError);
    expect((error as SDKError).statusCode).toBe(404);
    const res = await fetch(`${emulator.url}/v1/models/no-such-model`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(modelNotFoundError("no-such-model"));
  });
});
