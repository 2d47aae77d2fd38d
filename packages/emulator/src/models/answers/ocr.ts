/**
 * OCR: one markdown page per requested page index, naming the document and the model.
 */
import { filler, type Handler } from "./common";
import { describe, fail, isFail, isObject, type Fail } from "./parse";

/** OCR `pages`: list of indices, or "0,2-4". */
function parsePages(value: unknown): number[] | null | Fail {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    if (!value.every((p) => Number.isInteger(p) && (p as number) >= 0))
      return fail(422, "body.pages: must be non-negative integers");
    return [...new Set(value as number[])].sort((a, b) => a - b);
  }
  if (typeof value !== "string") return fail(422, "body.pages: must be a list of integers or a string like '0,2-4'");
  const out = new Set<number>();
  for (const part of value.split(",").map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return fail(422, `body.pages: cannot parse '${value}' (expected e.g. '0,2-4')`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a || b - a > 1000) return fail(422, `body.pages: bad range '${part}'`);
    for (let p = a; p <= b; p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

export const ocr: Handler = (body) => {
  const doc = body.document;
  if (doc === undefined || doc === null) return fail(422, "body.document: field required");
  if (!isObject(doc)) return fail(422, `body.document: must be an object (got ${describe(doc)})`);
  let source: string;
  let name: string;
  const type =
    doc.type ?? (doc.document_url !== undefined ? "document_url" : doc.image_url !== undefined ? "image_url" : "file");
  if (type === "document_url") {
    if (typeof doc.document_url !== "string" || !doc.document_url)
      return fail(422, "body.document.document_url: field required (string)");
    source = doc.document_url;
    name =
      typeof doc.document_name === "string" && doc.document_name
        ? doc.document_name
        : (source.split(/[/?#]/).filter(Boolean).pop() ?? "document");
  } else if (type === "image_url") {
    const iu = doc.image_url;
    const url = typeof iu === "string" ? iu : isObject(iu) && typeof iu.url === "string" ? iu.url : null;
    if (!url) return fail(422, "body.document.image_url: field required (string or {url})");
    source = url;
    name = url.startsWith("data:") ? "image" : (url.split(/[/?#]/).filter(Boolean).pop() ?? "image");
  } else if (type === "file") {
    if (typeof doc.file_id !== "string" || !doc.file_id)
      return fail(422, "body.document.file_id: field required (string)");
    source = `file ${doc.file_id}`;
    name = doc.file_id;
  } else {
    return fail(422, `body.document.type: must be one of document_url, image_url, file (got ${JSON.stringify(type)})`);
  }
  const pages = parsePages(body.pages);
  if (isFail(pages)) return pages;
  return ({ model, seed }) => {
    const indices = pages ?? [0];
    return {
      pages: indices.map((index) => ({
        index,
        markdown:
          `# ${name}\n\nPage ${index + 1}, read by ${model.id} (emulated OCR of ${source.length > 80 ? `${source.slice(0, 77)}...` : source}).\n\n` +
          `${filler(`${seed}\u0000ocr\u0000${index}`, 20, 60)}.\n`,
        images: [],
        tables: [],
        hyperlinks: [],
        header: null,
        footer: null,
        dimensions: { dpi: 200, height: 2200, width: 1700 },
      })),
      model: model.id,
      document_annotation: null,
      usage_info: { pages_processed: indices.length, doc_size_bytes: null },
    };
  };
};
