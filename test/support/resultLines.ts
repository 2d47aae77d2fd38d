/** Result lines as Mistral writes them (`{"id","custom_id","response":{"status_code","body"},"error"}`), for tests. */

/** A successful chat completion's result line for `id`, answering `content`, with `p` prompt and `c` completion tokens. */
export const chatResult = (id: string, content: string, p = 10, c = 5) => ({
  id: `batch-${id}`,
  custom_id: id,
  response: {
    status_code: 200,
    body: {
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c },
    },
  },
  error: null,
});
