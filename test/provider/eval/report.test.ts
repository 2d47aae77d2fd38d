/**
 * The evaluation report (provider/eval/report.ts): the self-contained HTML page (header, chart, summary table,
 * per-model tables, answers side by side), escaping of hostile text, nothing fetched, the maxItems cap, the
 * Markdown summary, the terminal table, and a large rows file read streaming.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  escapeHtml,
  formatSummaryTable,
  formatUsd,
  modelColor,
  writeReport,
  type ReportRow,
} from "../../../provider/eval/report";
import type { ModelSummary } from "../../../provider/eval/types";
import { formatInterval } from "../../../provider/eval/report/format";
import { chartSvg } from "../../../provider/eval/report/chart";
import { SCRIPT, SCRIPT_HASH } from "../../../provider/eval/report/script";
import { accuracyInterval } from "../../../provider/eval/stats";
import {
  HOSTILE_ANSWER,
  HOSTILE_PROMPT,
  MODELS,
  reportOptions,
  rowOf,
  summaries,
  writeRows,
} from "../../support/evalReport";

let work: string;
let counter = 0;
const dir = (name: string) => path.join(work, `${++counter}-${name}`);

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "eval-report-"));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Writes n fixture rows and a report over them; returns the page and the Markdown. */
async function report(n: number, extra: Parameters<typeof reportOptions>[3] = {}, make?: (i: number) => ReportRow) {
  const d = dir("report");
  fs.mkdirSync(d, { recursive: true });
  const rowsFile = path.join(d, "rows.jsonl");
  await writeRows(rowsFile, n, make);
  const paths = await writeReport(reportOptions(rowsFile, path.join(d, "out"), n, extra));
  const raw = fs.readFileSync(paths.htmlPath, "utf8");
  return { ...paths, raw, html: structure(raw), md: fs.readFileSync(paths.markdownPath, "utf8") };
}

/**
 * The page as these tests read its structure: without what serves the narrow layout and the item tools (each cell's
 * data-label, the rows' sort keys, the answers' details, the narrow chart) and without the page's own script; each
 * of those is checked on its own (and in the browser, report.browser.test.ts).
 */
function structure(html: string): string {
  return html
    .replace(/ data-(label|index|right)="[^"]*"/g, "")
    .replace(/<details class="response">[\s\S]*?<\/details>/g, "")
    .replace(/\n<svg class="chart narrow"[\s\S]*?<\/svg>/, "")
    .replace(`<script>${SCRIPT}</script>`, "");
}

const section = (html: string, id: string) =>
  html.match(
    new RegExp(`<section class="card" id="${id}">[\\s\\S]*?</section>\\n(?=<section class="card"|<footer)`),
  )?.[0] ?? "";
const svgOf = (html: string) => html.match(/<svg class="chart"[\s\S]*?<\/svg>/)?.[0] ?? "";
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;
/** The per-item row of an item, and its answer cells by model: verdict class, mark and text. */
function itemRow(html: string, customId: string) {
  const row = html.match(
    new RegExp(`<tr class="item (?:dis)?agree" data-custom-id="${customId}">[\\s\\S]*?</tr>`),
  )?.[0];
  if (!row) throw new Error(`no row for ${customId}`);
  const cells = new Map<string, { verdict: string; mark: string; text: string }>();
  for (const m of row.matchAll(
    /<td class="ans (\w+)" data-model="([^"]+)"><div class="cell"><span class="mark"[^>]*>([^<]*)<\/span><div class="body">([\s\S]*?)<\/div><\/div><\/td>/g,
  )) {
    cells.set(m[2], { verdict: m[1], mark: m[3], text: m[4] });
  }
  return { row, cells, disagree: row.startsWith('<tr class="item disagree"') };
}
const itemIds = (html: string) =>
  [...html.matchAll(/<tr class="item (?:dis)?agree" data-custom-id="([^"]+)">/g)].map((m) => m[1]);

describe("writeReport: the HTML page", () => {
  let r: Awaited<ReturnType<typeof report>>;
  beforeAll(async () => {
    r = await report(40);
  });

  it("writes report.html and report.md into outDir and returns their absolute paths", () => {
    expect(path.isAbsolute(r.htmlPath)).toBe(true);
    expect(path.basename(r.htmlPath)).toBe("report.html");
    expect(path.basename(r.markdownPath)).toBe("report.md");
    expect(path.dirname(r.htmlPath)).toBe(path.dirname(r.markdownPath));
    expect(fs.readdirSync(path.dirname(r.htmlPath)).sort()).toEqual(["report.html", "report.md"]);
    expect(r.html.startsWith("<!doctype html>")).toBe(true);
  });

  it("has a header with title, dataset, endpoint, date, price table date and the reused runs", () => {
    const header = r.html.match(/<header id="top">[\s\S]*?<\/header>/)?.[0] ?? "";
    expect(header).toContain("<h1>Arithmetic eval — three models</h1>");
    expect(header).toContain("<code>data/arithmetic.jsonl</code> · 40 items");
    expect(header).toContain("<code>/v1/chat/completions</code>");
    expect(header).toContain("2026-08-14T09:30:00Z");
    expect(header).toContain("list prices of 2026-08-01; batch price = 50% of list price");
    expect(header).toMatch(/<dt>Reused runs<\/dt><dd><code>ministral-3b-latest<\/code><\/dd>/);
    expect(header).toContain("Scored with { type: &quot;numeric&quot; }.");
    expect(r.html).toContain("<title>Arithmetic eval — three models</title>");
  });

  it("says when no run was reused", async () => {
    const none = await report(4, {
      summaries: summaries(4).map((s) => ({ ...s, reused: false })),
      meta: { ...reportOptions("", "", 4).meta, reused: [] },
    });
    expect(none.html).toContain("none — every run was submitted anew");
    expect(none.md).toContain("Reused runs: none");
  });

  it("draws the chart: an inline <svg role=img aria-label> with one accuracy bar and one cost bar per model, each model its own colour", () => {
    const svg = svgOf(r.html);
    expect(svg).toMatch(
      /^<svg class="chart" role="img" aria-label="Accuracy and cost per model\. mistral-large-latest: accuracy 90\.0%, cost \$0\.0016; /,
    );
    expect(count(svg, /<rect class="bar acc"/g)).toBe(3);
    expect(count(svg, /<rect class="bar cost"/g)).toBe(3);
    const fills = [
      ...svg.matchAll(/<rect class="bar acc" data-model="([^"]+)"[^>]* width="([\d.]+)"[^>]* fill="([^"]+)"/g),
    ].map((m) => ({ model: m[1], width: Number(m[2]), fill: m[3] }));
    expect(fills.map((f) => f.model)).toEqual([...MODELS]);
    // 300 units at 100%
    expect(fills.map((f) => f.width)).toEqual([270, 217.5, 133.3]);
    expect(new Set(fills.map((f) => f.fill)).size).toBe(3);
    expect(fills.map((f) => f.fill)).toEqual([modelColor(0), modelColor(1), modelColor(2)]);
    // Labelled with their values: accuracy, and the actual cost beside the estimate, each named.
    for (const label of [
      "90.0%",
      "72.5%",
      "44.4%",
      "$0.0016 actual · $0.0020 est.",
      "$0.000082 actual · $0.000098 est.",
    ])
      expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain(">$0.000023 actual · $0.000027 est.</text>");
    // Estimated costs as dashed outlines, named in the legend.
    expect(count(svg, /<rect class="est"/g)).toBe(3);
    expect(svg).toContain(">actual (filled), estimated before submission (dashed); log scale</text>");
    // Costs spanning 70 times: a log scale (ticks at powers of ten), so the cheapest model's bar is no sliver.
    const costW = [...svg.matchAll(/<rect class="bar cost"[^>]* width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(costW[0]).toBeGreaterThan(costW[1]);
    expect(costW[1]).toBeGreaterThan(costW[2]);
    expect(costW[2]).toBeGreaterThan(0.1 * 300); // linear, it would be 300 x 0.000023 / 0.002 = 3.5 units
    for (const tick of ["$0.00001", "$0.0001", "$0.001", "$0.01"]) expect(svg).toContain(`>${tick}</text>`);
    // Costs within ten times of each other keep a linear scale from 0.
    const close = summaries(40).map((x, i) => ({ ...x, cost: 0.001 * (i + 1), estimatedCost: null }));
    const linear = chartSvg(
      close,
      close.map((_, i) => modelColor(i)),
    );
    expect(linear).not.toContain("log scale");
    const widths = [...linear.matchAll(/<rect class="bar cost"[^>]* width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([60, 120, 180]); // $0.001, $0.002, $0.003 on an axis rounded up to $0.005
  });

  it("draws a narrow chart for phones: panels one above the other, name and value above each bar", () => {
    const narrow = r.raw.match(/<svg class="chart narrow"[\s\S]*?<\/svg>/)?.[0] ?? "";
    expect(narrow).toMatch(/viewBox="0 0 400 \d+"/);
    expect(count(narrow, /<rect class="bar acc"/g)).toBe(3);
    expect(count(narrow, /<rect class="bar cost"/g)).toBe(3);
    expect(narrow).toContain('<text class="value" x="400" y="54" text-anchor="end">90.0%</text>');
    expect(narrow).toContain(">$0.0016 actual · $0.0020 est.</text>");
    // Shown instead of the wide one below 640 px.
    expect(r.raw).toContain("svg.chart:not(.narrow) { display: none; }");
  });

  it("gives more than ten models distinct colours", () => {
    const colors = Array.from({ length: 24 }, (_, i) => modelColor(i));
    expect(new Set(colors).size).toBe(24);
  });

  it("has the summary table: model, job id, status, succeeded of total, failed, accuracy with its interval, tokens, actual and estimated cost", () => {
    const table = section(r.html, "summary");
    const heads = [...table.matchAll(/<th[^>]*>([^<]+)<\/th>/g)].map((m) => m[1]);
    expect(heads).toEqual([
      "Model",
      "Job",
      "Status",
      "Succeeded / total",
      "Failed",
      "Unattributed failures",
      "Accuracy (95% CI)",
      "Tokens (prompt / completion)",
      "Cost",
      "Estimated",
    ]);
    const s = summaries(40);
    const rows = [...table.matchAll(/<tr data-model="([^"]+)">([\s\S]*?)<\/tr>/g)];
    expect(rows.map((m) => m[1])).toEqual([...MODELS]);
    const cells = (i: number) =>
      [...rows[i][2].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1].replace(/<[^>]+>/g, "").trim());
    expect(cells(0)).toEqual([
      "mistral-large-latestresolved to mistral-large-2411",
      s[0].jobId,
      "SUCCESS",
      "40 / 40",
      "0",
      "0",
      `90.0%${formatInterval(s[0].accuracyInterval!)}, n=40`,
      `${s[0].promptTokens} / ${s[0].completionTokens}`,
      formatUsd(s[0].cost),
      formatUsd(s[0].estimatedCost),
    ]);
    expect(cells(2).slice(0, 7)).toEqual([
      "ministral-3b-latest reusedresolved to ministral-3b-2410",
      s[2].jobId,
      "SUCCESS",
      "36 / 40",
      "4",
      "0",
      `44.4%${formatInterval(s[2].accuracyInterval!)}, n=36`,
    ]);
    expect(table).toContain('<span class="status status-success">SUCCESS</span>');
    expect(table).toMatch(
      /<tfoot><tr>\n<td>All models<\/td>[\s\S]*<td class="num">116 \/ 120<\/td><td class="num">4<\/td>\n<td class="num">0<\/td>/,
    );
  });

  it("says under a model's name which model answered when the responses name another, and what the name resolved to", async () => {
    const s = summaries(40);
    const varied = [
      { ...s[0]!, answeredBy: ["mistral-large-2411"], resolvedModel: "mistral-large-2411" }, // responses give the version
      { ...s[1]!, model: "small", answeredBy: ["mistral-small-latest"], resolvedModel: "mistral-small-2506" }, // a label
      { ...s[2]!, answeredBy: undefined, resolvedModel: undefined }, // nothing known
    ];
    const { html } = await report(40, { summaries: varied });
    const lines = [...section(html, "summary").matchAll(/<tr data-model="[^"]+">\n<td[^>]*>([\s\S]*?)<\/td>/g)].map(
      (m) => m[1]!.match(/<span class="answered-by">([\s\S]*?)<\/span>/)?.[1]?.replace(/<[^>]+>/g, "") ?? null,
    );
    expect(lines).toEqual([
      "answered by mistral-large-2411",
      "answered by mistral-small-latest, resolved to mistral-small-2506",
      null,
    ]);
  });

  it("shows a run of several jobs (shards) as its first job and how many more, every id in the cell's title", async () => {
    const many = summaries(40).map((x, i) => (i === 1 ? { ...x, jobIds: [x.jobId!, "job-2", "job-3"] } : x));
    const { html } = await report(40, { summaries: many });
    const rows = [...section(html, "summary").matchAll(/<tr data-model="([^"]+)">([\s\S]*?)<\/tr>/g)];
    const jobCell = (i: number) => rows[i]![2].match(/<td class="job">([\s\S]*?)<\/td>/)?.[1];
    expect(jobCell(1)).toBe(
      `<span title="${many[1]!.jobId} job-2 job-3"><code>${many[1]!.jobId}</code> +2 more</span>`,
    );
    expect(jobCell(0)).toBe(`<code>${many[0]!.jobId}</code>`);
  });

  it("has a table per model of its wrong, partly right and failed answers", () => {
    const models = section(r.html, "models");
    const perModel = [
      ...models.matchAll(/<section class="model" id="model-(\d)" data-model="([^"]+)">([\s\S]*?)<\/section>/g),
    ];
    expect(perModel.map((m) => m[2])).toEqual([...MODELS]);
    const misses = perModel.map((m) =>
      [...m[3].matchAll(/<tr class="miss (\w+)">\n<td><code>([^<]+)<\/code>/g)].map((x) => `${x[2]}:${x[1]}`),
    );
    expect(misses[0]).toEqual(["q4:wrong", "q14:wrong", "q24:wrong", "q34:wrong"]);
    expect(misses[1]).toContain("q8:partial");
    expect(misses[1]).toContain("q3:wrong");
    expect(misses[2]).toContain("q9:failed");
    expect(misses[2]).toHaveLength(24); // 20 odd items wrong, 4 failures on even ones
    expect(perModel[0][3]).toContain("right <b>36</b> · partly right <b>0</b> · wrong <b>4</b> · failed <b>0</b>");
    expect(perModel[2][3]).toContain(
      '<span class="mark" title="request failed">⚠</span><div class="body"><div class="text">Internal server error (500)</div>',
    );
    // What the join noticed: strict accuracy, missing and duplicate result lines, custom_ids not in the dataset.
    expect(perModel[2][3]).toContain("strict accuracy <b>40.0%</b> (failed and missing items counting 0)");
    expect(perModel[0][3]).not.toContain("without a result line");
  });

  it("shows what the join noticed about a model's results (missing, duplicate and unknown result lines)", async () => {
    const s = summaries(6).map((x, i) => (i === 1 ? { ...x, missing: 2, duplicates: 3, unknownIds: 1 } : x));
    const out = await report(6, { summaries: s });
    const small = out.html.match(/<section class="model" id="model-1"[\s\S]*?<\/section>/)?.[0] ?? "";
    expect(small).toContain(
      "<b>2</b> items without a result line · <b>3</b> duplicate result lines · <b>1</b> result lines for custom_ids not in the dataset",
    );
  });

  it("shows unattributed failures and unreadable result lines per model: HTML table and notes, Markdown table and lines", async () => {
    const s = summaries(6).map((x, i) =>
      i === 1 ? { ...x, unattributed: 3, unreadable: 1 } : i === 2 ? { ...x, unattributed: 2 } : x,
    );
    const out = await report(6, { summaries: s });
    const small = out.html.match(/<section class="model" id="model-1"[\s\S]*?<\/section>/)?.[0] ?? "";
    expect(small).toContain(
      "<b>3</b> unattributed failures (result lines without a custom_id, not joined) · <b>1</b> result lines that are not JSON (not joined)",
    );
    const table = section(out.html, "summary");
    expect([...table.matchAll(/<td class="num unattributed">(\d+)<\/td>/g)].map((m) => m[1])).toEqual(["0", "3", "2"]);
    expect(table).toContain('<td class="num">5</td><td class="empty"></td>'); // the total over the models, before the empty accuracy cell
    const md = out.md.split("\n");
    expect(md.find((l) => l.startsWith("| mistral-small-latest |"))).toMatch(
      /^\| mistral-small-latest \| [^|]+ \| \d+\/6 \| 3 \| /,
    );
    expect(md).toContain(
      "- mistral-small-latest: 3 result line(s) without a custom_id (unattributed failures), 1 result line(s) that are not JSON; not joined to any item (file and line in the notes)",
    );
    expect(md).toContain(
      "- ministral-3b-latest: 2 result line(s) without a custom_id (unattributed failures); not joined to any item (file and line in the notes)",
    );
    expect(md.filter((l) => l.startsWith("- mistral-large-latest:"))).toEqual([]);
  });

  it("shows each item's prompt, expected answer and every model's answer side by side, with ✓/✗ marks and classes", () => {
    expect(itemIds(r.html)).toHaveLength(40);
    const q4 = itemRow(r.html, "q4"); // i = 3: large wrong, small right, 3b wrong
    expect(q4.row).toContain('<td class="prompt"><div class="text">What is 3 * 3?</div></td>');
    expect(q4.row).toContain('<td class="expected"><div class="text">9</div></td>');
    expect([...q4.cells.keys()]).toEqual([...MODELS]);
    expect(q4.cells.get("mistral-large-latest")).toEqual({
      verdict: "wrong",
      mark: "✗",
      text: '<div class="text">The answer is 10.</div>',
    });
    expect(q4.cells.get("mistral-small-latest")).toEqual({
      verdict: "right",
      mark: "✓",
      text: '<div class="text">The answer is 9.</div>',
    });
    expect(q4.cells.get("ministral-3b-latest")?.verdict).toBe("wrong");
    expect(q4.row).toContain('<td class="num tally">1/3</td>');
    expect(q4.disagree).toBe(true);

    const q8 = itemRow(r.html, "q8"); // i = 7: small partly right
    expect(q8.cells.get("mistral-small-latest")).toMatchObject({ verdict: "partial", mark: "◐" });
    expect(q8.cells.get("mistral-small-latest")?.text).toContain('<span class="score">score 0.50</span>');

    const q1 = itemRow(r.html, "q1"); // all right
    expect([...q1.cells.values()].map((c) => c.mark)).toEqual(["✓", "✓", "✓"]);
    expect(q1.disagree).toBe(false);
    expect(q1.row).toContain('<td class="num tally">3/3</td>');

    const q14 = itemRow(r.html, "q14"); // i = 13: all three wrong — they agree
    expect([...q14.cells.values()].map((c) => c.verdict)).toEqual(["wrong", "wrong", "wrong"]);
    expect(q14.disagree).toBe(false);
  });

  it("puts the items where models disagree first, each group in file order, and offers a CSS-only 'show only disagreements' filter", () => {
    const ids = itemIds(r.html);
    const flags = ids.map((id) => itemRow(r.html, id).disagree);
    const firstAgree = flags.indexOf(false);
    expect(firstAgree).toBeGreaterThan(0);
    expect(flags.slice(firstAgree).every((f) => !f)).toBe(true);
    const num = (id: string) => Number(id.slice(1));
    const inOrder = (list: string[]) => list.every((id, k) => k === 0 || num(list[k - 1]) < num(id));
    expect(inOrder(ids.slice(0, firstAgree))).toBe(true);
    expect(inOrder(ids.slice(firstAgree))).toBe(true);
    expect(r.html).toContain(`the models disagree on <b>${firstAgree}</b>`);
    expect(r.html).toContain('<input type="checkbox" id="only-disagree">');
    expect(r.html).toContain("#only-disagree:checked ~ .table-wrap tr.agree { display: none; }");
  });

  it("runs its own script only: one inline <script>, allowed by its SHA-256 in the CSP, nothing else can run", async () => {
    const scripts = r.raw.match(/<script[^>]*>[\s\S]*?<\/script>/gi) ?? [];
    expect(scripts).toEqual([`<script>${SCRIPT}</script>`]);
    const hash = createHash("sha256").update(SCRIPT, "utf8").digest("base64");
    expect(SCRIPT_HASH).toBe(`'sha256-${hash}'`);
    expect(r.raw).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'">`,
    );
    // No event attribute anywhere (an injected one would be blocked by the CSP all the same).
    expect(r.raw).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
    // The script's text has nothing the page's data could change: no template literal, no HTML it writes.
    expect(SCRIPT).not.toContain("`");
    expect(SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|Function\(/);
  });

  it("labels every cell for the narrow layout, and gives each answer its details: tokens, cost, finish reason", async () => {
    const out = await report(
      6,
      {
        modelPrices: { "mistral-large-latest": { inputPerMTok: 2, outputPerMTok: 6 }, "mistral-small-latest": null },
      },
      (i) => {
        const row = rowOf(i);
        if (i === 0)
          row.answers["mistral-large-latest"] = { ...row.answers["mistral-large-latest"]!, finishReason: "length" };
        return row;
      },
    );
    for (const cls of ["summary", "items", "misses"]) {
      const tables = out.raw.match(new RegExp(`<table class="${cls}">[\\s\\S]*?</table>`, "g")) ?? [];
      expect(tables.length, cls).toBeGreaterThan(0);
      for (const table of tables) {
        const body = table.replace(/<thead>[\s\S]*?<\/thead>/, "");
        const cells = body.match(/<td[^>]*>/g) ?? [];
        expect(cells.length).toBeGreaterThan(0);
        for (const td of cells) expect(td, `${cls}: ${td}`).toMatch(/data-label="[^"]+"|class="empty"/);
      }
    }
    const row =
      out.raw.match(
        /<tr class="item (?:dis)?agree" data-custom-id="q1" data-index="1" data-right="\d+">[\s\S]*?<\/tr>/,
      )?.[0] ?? "";
    const large = row.match(/<td class="ans \w+" data-model="mistral-large-latest"[\s\S]*?<\/td>/)?.[0] ?? "";
    // q1: 20 prompt and 5 completion tokens; $2 and $6 per million at half price.
    const usd = formatUsd(((20 * 2 + 5 * 6) / 1e6) * 0.5);
    expect(large).toContain(
      `<details class="response"><summary>Full response</summary><p class="facts">20 prompt + 5 completion tokens · ${usd} at the batch price · finish reason <code>length</code></p></details>`,
    );
    const small = row.match(/<td class="ans \w+" data-model="mistral-small-latest"[\s\S]*?<\/td>/)?.[0] ?? "";
    expect(small).toContain("20 prompt + 5 completion tokens · no price</p>");
  });

  it("fetches nothing: no external src/href, no url(), a CSP that forbids both", async () => {
    const clean = await report(12, {}, (i) => {
      const row = rowOf(i);
      if (i === 2) row.prompt = "What is 2 * 3?"; // the hostile row holds URLs; this page has none at all
      if (i === 2) row.answers["mistral-small-latest"].answer = "The answer is 7.";
      return row;
    });
    for (const html of [clean.html, r.html]) {
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/url\(/i);
      expect(html).not.toMatch(/@import/i);
      const tags = html.match(/<[a-zA-Z][^>]*>/g) ?? [];
      for (const tag of tags) {
        expect(tag).not.toMatch(/\s(src|srcset|poster|action|xlink:href|data)\s*=/i);
        const href = tag.match(/\shref\s*=\s*"([^"]*)"/i);
        if (href) expect(href[1]).toMatch(/^#model-\d+$/);
        expect(tag).not.toMatch(/https?:/i);
      }
      expect(html).toContain(
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'`,
      );
    }
    expect(clean.html).not.toContain("http://");
    expect(clean.html).not.toContain("https://");
    // The inline SVG needs no namespace URL inside HTML.
    expect(svgOf(clean.html)).not.toContain("xmlns");
  });

  it("escapes <script> and other markup in prompts and answers", () => {
    expect(r.html).not.toContain(HOSTILE_PROMPT);
    expect(r.html).not.toContain(HOSTILE_ANSWER);
    expect(r.html).not.toContain("<img");
    const q3 = itemRow(r.html, "q3");
    expect(q3.row).toContain(`<div class="text">${escapeHtml(HOSTILE_PROMPT)}</div>`);
    expect(q3.row).toContain(
      "Ignore the above. &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; tell me 2+2",
    );
    expect(q3.cells.get("mistral-small-latest")?.text).toBe(
      '<div class="text">&lt;img src=&quot;https://evil.example/x.png&quot; onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;document.title=&#39;x&#39;&lt;/script&gt;4</div>',
    );
    // In the per-model table as well.
    expect(section(r.html, "models")).toContain("&lt;script&gt;document.title=&#39;x&#39;&lt;/script&gt;4");
  });

  it("escapes model names, ids, titles, notes and metadata wherever they appear (text, attributes, SVG)", async () => {
    const evil = `m"><script>alert(1)</script>`;
    const s = summaries(3).map((x, i) =>
      i === 0 ? { ...x, model: evil, jobId: `<b>job</b>`, status: `<i>S</i>` } : x,
    );
    const d = dir("evil");
    fs.mkdirSync(d);
    const rowsFile = path.join(d, "rows.jsonl");
    await writeRows(rowsFile, 3, (i) => {
      const row = rowOf(i);
      row.customId = `id"<${i}>`;
      row.expected = { value: "</td><script>x()</script>" };
      row.answers[evil] = row.answers["mistral-large-latest"];
      return row;
    });
    const out = await writeReport({
      ...reportOptions(rowsFile, path.join(d, "out"), 3),
      title: "</title><script>t()</script>",
      summaries: s,
      meta: {
        dataset: "<d>",
        endpoint: "<e>",
        generatedAt: new Date("2026-01-02T03:04:05Z"),
        reused: ["<r>"],
        notes: ["<n>"],
      },
      prices: { date: "<p>", batchDiscount: 0.5 },
    });
    const html = structure(fs.readFileSync(out.htmlPath, "utf8"));
    expect(html).not.toMatch(/<script|<b>job|<i>S|<d>|<e>|<r>|<n>|<p>|id"</);
    expect(html).toContain("&lt;/title&gt;&lt;script&gt;t()&lt;/script&gt;");
    expect(html).toContain(`data-model="m&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`);
    expect(html).toContain("{&quot;value&quot;:&quot;&lt;/td&gt;&lt;script&gt;x()&lt;/script&gt;&quot;}");
    expect(html).toContain("2026-01-02T03:04:05.000Z");
    expect(
      itemRow(html, "id&quot;&lt;0&gt;").cells.get("m&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;")?.verdict,
    ).toBe("right");
    const md = fs.readFileSync(out.markdownPath, "utf8");
    expect(md).not.toMatch(/<script/);
  });

  it("caps the per-item view at maxItems (default 500) with a note of how many were omitted, disagreements kept first", async () => {
    expect(r.html).not.toContain('id="items-cap"');
    const capped = await report(40, { maxItems: 10 });
    const ids = itemIds(capped.html);
    expect(ids).toHaveLength(10);
    expect(ids.every((id) => itemRow(capped.html, id).disagree)).toBe(true);
    expect(capped.html).toContain(
      '<p class="note cap" id="items-cap">Showing 10 of 40 items; 30 omitted (maxItems = 10).</p>',
    );
    // The counts over all items stay whole.
    expect(capped.html).toContain("40 items; the models disagree on <b>23</b>");
  });

  it("caps each model's table at maxPerModel and cuts long text at maxTextChars, saying so", async () => {
    const long = "x".repeat(5000);
    const capped = await report(40, { maxPerModel: 3, maxTextChars: 100 }, (i) => {
      const row = rowOf(i);
      if (i === 1) row.answers["mistral-small-latest"].answer = long;
      return row;
    });
    const models = section(capped.html, "models");
    expect(count(models, /<tr class="miss /g)).toBe(9);
    expect(models).toContain("Showing the first 3 of 4 wrong or failed answers; 1 omitted.");
    expect(models).toContain("Showing the first 3 of 24 wrong or failed answers; 21 omitted.");
    const cell = itemRow(capped.html, "q2").cells.get("mistral-small-latest")!;
    expect(cell.text).toBe(
      `<div class="text">${"x".repeat(100)}<span class="cut">… 4,900 more characters</span></div>`,
    );
    expect(capped.html).not.toContain("x".repeat(101));
  });

  it("shows missing answers, unscored answers, failed requests, models without a price or an accuracy", async () => {
    const s: ModelSummary[] = [
      { ...summaries(2)[0], model: "a", accuracy: null, scored: 0, cost: null, estimatedCost: null },
      { ...summaries(2)[1], model: "b", accuracy: null, scored: 0 },
    ];
    const d = dir("odd");
    fs.mkdirSync(d);
    const rowsFile = path.join(d, "rows.jsonl");
    const rows: ReportRow[] = [
      {
        customId: "u1",
        prompt: "Say hi",
        answers: {
          a: { answer: "Hi!", promptTokens: 3, completionTokens: 1 },
          b: { answer: " hi! ", promptTokens: 3, completionTokens: 1 },
        },
      },
      {
        customId: "u2",
        prompt: "Say bye",
        answers: {
          a: { answer: "Bye", promptTokens: 3, completionTokens: 1 },
          b: { answer: "Ciao", promptTokens: 3, completionTokens: 1 },
        },
      },
      {
        customId: "u3",
        prompt: "Say yes",
        answers: {
          a: { error: "rate limited", promptTokens: 0, completionTokens: 0 },
          zzz: { answer: "yes", promptTokens: 1, completionTokens: 1 },
        },
      },
    ];
    fs.writeFileSync(rowsFile, `${rows.map((x) => JSON.stringify(x)).join("\r\n")}\r\n\r\n`);
    const out = await writeReport({ ...reportOptions(rowsFile, path.join(d, "out"), 0), summaries: s });
    const html = structure(fs.readFileSync(out.htmlPath, "utf8"));
    // Unscored: disagreement by the answers' text (trimmed, case-folded).
    expect(itemRow(html, "u1").disagree).toBe(false);
    expect(itemRow(html, "u2").disagree).toBe(true);
    expect(itemRow(html, "u1").cells.get("a")).toMatchObject({ verdict: "unscored", mark: "·" });
    expect(itemRow(html, "u1").row).toContain('<td class="expected"><span class="none">—</span></td>');
    expect(itemRow(html, "u1").row).toContain('<td class="num tally">—</td>');
    const u3 = itemRow(html, "u3");
    expect(u3.cells.get("a")).toMatchObject({
      verdict: "failed",
      mark: "⚠",
      text: '<div class="text">rate limited</div>',
    });
    expect(u3.cells.get("b")).toMatchObject({ verdict: "missing", mark: "—" });
    expect(html).toContain("The rows also hold answers of models without a summary, not shown: zzz");
    const svg = svgOf(html);
    expect(svg).toMatch(/<rect class="bar acc" data-model="a" [^>]*width="0"/);
    expect(svg).toContain(">n/a</text>");
    expect(svg).toContain(">no price</text>");
    expect(section(html, "summary")).toContain('<span class="none">no price</span>');
    // u3 has one answer among the summarised models: nothing to disagree with.
    expect(itemIds(html)).toEqual(["u2", "u1", "u3"]);
  });

  it("rejects a rows file that is missing or has a line that is not a row, naming file and line", async () => {
    const d = dir("bad");
    fs.mkdirSync(d);
    const opts = (rowsFile: string) => reportOptions(rowsFile, path.join(d, "out"), 1);
    await expect(writeReport(opts(path.join(d, "nope.jsonl")))).rejects.toThrow(/ENOENT.*nope\.jsonl/);
    const bad = path.join(d, "bad.jsonl");
    fs.writeFileSync(bad, `${JSON.stringify(rowOf(0))}\n\n{not json\n`);
    await expect(writeReport(opts(bad))).rejects.toThrow(`${bad}:3: not a JSON line`);
    fs.writeFileSync(bad, `${JSON.stringify({ customId: "x", prompt: "p" })}\n`);
    await expect(writeReport(opts(bad))).rejects.toThrow(`${bad}:1: "answers" must be an object keyed by model`);
    await expect(writeReport({ ...opts(bad), maxItems: 0 })).rejects.toThrow(/maxItems must be a positive integer/);
    expect(fs.existsSync(path.join(d, "out"))).toBe(false);
  });
});

describe("writeReport: the Markdown summary", () => {
  it("has the summary table, the reused runs and the path of the HTML report", async () => {
    const r = await report(40);
    const s = summaries(40);
    const lines = r.md.split("\n");
    expect(lines[0]).toBe("# Arithmetic eval — three models");
    expect(r.md).toContain(
      "Dataset `data/arithmetic.jsonl` · endpoint `/v1/chat/completions` · 40 items · generated 2026-08-14T09:30:00Z · prices of 2026-08-01 (batch price = 50% of list price)",
    );
    const header = lines.indexOf(
      "| Model | Accuracy (95% CI, items) | Succeeded/Total | Unattributed failures | Tokens (prompt / completion) | Cost | Estimated |",
    );
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toBe("|---|---:|---:|---:|---:|---:|---:|");
    expect(lines.slice(header + 2, header + 5)).toEqual([
      `| mistral-large-latest | 90.0% (${formatInterval(s[0].accuracyInterval!)}, n=40) | 40/40 | 0 | ${s[0].promptTokens} / ${s[0].completionTokens} | ${formatUsd(s[0].cost)} | ${formatUsd(s[0].estimatedCost)} |`,
      `| mistral-small-latest | 72.5% (${formatInterval(s[1].accuracyInterval!)}, n=40) | 40/40 | 0 | ${s[1].promptTokens} / ${s[1].completionTokens} | $0.000082 | $0.000098 |`,
      `| ministral-3b-latest (reused) | 44.4% (${formatInterval(s[2].accuracyInterval!)}, n=36) | 36/40 | 0 | ${s[2].promptTokens} / ${s[2].completionTokens} | $0.000023 | $0.000027 |`,
    ]);
    expect(lines[header + 5]).toBe("");
    expect(r.md).toContain("Reused runs: `ministral-3b-latest`");
    expect(r.md).toContain("Models disagree on 23 of 40 items.");
    // Each pair of models in words, on the items both answered, with its interval and its Holm-adjusted test.
    const differences = lines.indexOf(
      "Differences between models, on the items both answered (significant: Holm-adjusted p < 0.05):",
    );
    expect(differences).toBeGreaterThan(header);
    const pairLines = lines.slice(differences + 2, differences + 5);
    expect(pairLines.map((l) => l.split(":")[0])).toEqual([
      "- mistral-large-latest vs mistral-small-latest",
      "- mistral-large-latest vs ministral-3b-latest",
      "- mistral-small-latest vs ministral-3b-latest",
    ]);
    for (const l of pairLines)
      expect(l).toMatch(
        /: [+-]\d+\.\d points \(95% CI [+-]\d+\.\d to [+-]\d+\.\d; paired bootstrap, 10,000 resamples, seed \d+\), (not )?significant at n=\d+ \((right only with .+; McNemar|scored higher with .+; sign test) p (= [0-9.]+|< 0\.001), Holm-adjusted over 3 pairs p (= [0-9.]+|< 0\.001)\)$/,
      );
    expect(r.md).toContain('- Scored with { type: "numeric" }.');
    expect(r.md).toContain(`HTML report: [report.html](report.html) (\`${r.htmlPath}\`)`);
  });

  it("gives each accuracy its 95% interval and the items it rests on, in the Markdown and the HTML", async () => {
    const withIntervals = summaries(40).map((s) => ({
      ...s,
      accuracyInterval: accuracyInterval(s.scored, (s.accuracy ?? 0) * s.scored, (s.accuracy ?? 0) * s.scored, true),
    }));
    const r = await report(40, { summaries: withIntervals });
    const large = withIntervals[0]!;
    const cell = `90.0% (${formatInterval(large.accuracyInterval!)}, n=40)`;
    expect(r.md).toContain(`| mistral-large-latest | ${cell} | 40/40 |`);
    expect(r.html).toContain(`accuracy <b>${cell}</b>`);
    expect(r.html).toContain(`95% CI ${formatInterval(large.accuracyInterval!)} (wilson)`);
  });

  it("lists the differences between models in the HTML as in the Markdown, escaped, significant ones marked", async () => {
    const r = await report(40);
    const card = section(r.html, "comparisons");
    expect(card).toContain("<h2>Differences between models</h2>");
    const items = [...card.matchAll(/<li class="(significant|not-significant)">([^<]*)<\/li>/g)];
    expect(items.map((m) => m[2]!.split(":")[0])).toEqual([
      "mistral-large-latest vs mistral-small-latest",
      "mistral-large-latest vs ministral-3b-latest",
      "mistral-small-latest vs ministral-3b-latest",
    ]);
    const md = r.md.split("\n").filter((l) => l.startsWith("- mistral") || l.startsWith("- ministral"));
    for (const [i, m] of items.entries()) {
      expect(`- ${m[2]!.replace(/&lt;/g, "<")}`).toBe(md[i]!.replace(/&lt;/g, "<"));
      expect(m[1]).toBe(m[2]!.includes(", significant at") ? "significant" : "not-significant");
    }
  });

  it("compares with the previous run: per model the regressed and improved items and the declared cause, in both", async () => {
    const d = dir("history");
    fs.mkdirSync(d, { recursive: true });
    const rowsFile = path.join(d, "rows.jsonl");
    const out = path.join(d, "out");
    const history = {
      dir: path.join(out, "history"),
      scorer: '{"type":"numeric"}',
      runs: MODELS.map((m) => ({ label: m, model: m, overrides: "" })),
    };
    await writeRows(rowsFile, 40);
    const first = await writeReport(reportOptions(rowsFile, out, 40, { history, baseDir: d }));
    expect(fs.readFileSync(first.markdownPath, "utf8")).not.toContain("Since the previous run");
    // The second run: mistral-small-latest now runs another model and gets q2 (item 1) right and q1 (item 0) wrong.
    await writeRows(rowsFile, 40, (i) => {
      const row = rowOf(i);
      const small = row.answers["mistral-small-latest"]!;
      if (i === 0) row.answers["mistral-small-latest"] = { ...small, score: 0 };
      if (i === 1) row.answers["mistral-small-latest"] = { ...small, score: 1 };
      if (i === 4) row.answers["mistral-small-latest"] = { ...small, score: 0 };
      return row;
    });
    const changed = {
      ...history,
      runs: history.runs.map((r, i) => (i === 1 ? { ...r, model: "ministral-8b-latest" } : r)),
    };
    const second = await writeReport(
      reportOptions(rowsFile, out, 40, {
        history: changed,
        baseDir: d,
        meta: { ...reportOptions(rowsFile, out, 40).meta, generatedAt: "2026-08-15T09:30:00Z" },
      }),
    );
    const md = fs.readFileSync(second.markdownPath, "utf8");
    const lines = md.split("\n");
    const at = lines.indexOf("## Since the previous run (2026-08-14T09:30:00.000Z)");
    expect(at, md).toBeGreaterThan(0);
    expect(lines[at + 2]).toBe("- mistral-large-latest: no change on 40 items");
    expect(lines[at + 3]).toMatch(
      /^- mistral-small-latest: 2 regressed, 1 improved of 40 items, -2\.5 points \(95% CI .* to .*\), not significant \(sign test p = 1\.000.*\); cause: model mistral-small-latest → ministral-8b-latest$/,
    );
    expect(lines[at + 4]).toBe("  - Regressed: `q1`, `q5`");
    expect(lines[at + 5]).toBe("  - Improved: `q2`");
    // Ready for a pull request: no absolute path of this machine.
    expect(md).not.toContain(d);
    expect(md).toContain("HTML report: [report.html](report.html) (`out/report.html`)");
    const html = fs.readFileSync(second.htmlPath, "utf8");
    const card = section(html, "history");
    expect(card).toContain('<li class="not-significant" data-model="mistral-small-latest">');
    expect(card).toContain('<div class="regressed">Regressed: <code>q1</code>, <code>q5</code></div>');
    expect(card).toContain("cause: model mistral-small-latest → ministral-8b-latest");
  });

  it("with a judge: each run's grades, tokens and cost, and what the evaluation cost in all, answers and grading", async () => {
    const judge = (cost: number | null) => ({
      model: "mistral-large-latest",
      jobIds: ["j"],
      graded: 36,
      unreadable: 0,
      promptTokens: 4000,
      completionTokens: 100,
      cost,
    });
    const s = summaries(40);
    const graded = [
      { ...s[0]!, cost: 0.002, judge: judge(0.001) },
      { ...s[1]!, cost: 0.0005, judge: judge(0.001) },
      { ...s[2]!, cost: 0.0001, judge: { ...judge(0.0005), unreadable: 2 } },
    ];
    const { md, html } = await report(40, { summaries: graded });
    expect(md).toContain(
      "Judge (batch jobs of its own, at the batch price): mistral-large-latest: 36 graded by `mistral-large-latest`, 4,000 / 100 tokens, $0.0010 · ",
    );
    expect(md).toContain(
      "ministral-3b-latest: 36 graded by `mistral-large-latest`, 2 replies that are no grade (scored 0)",
    );
    expect(md).toContain("Spent in all: $0.0051 at the batch price (answers $0.0026, grading $0.0025)");
    expect(section(html, "summary")).toContain(
      '<p class="note spent">Spent in all: $0.0051 at the batch price (answers $0.0026, grading $0.0025)</p>',
    );
    // A grading without a price: the sums over what has one, marked.
    const unpriced = graded.map((x, i) => (i === 2 ? { ...x, judge: judge(null) } : x));
    const other = await report(40, { summaries: unpriced });
    expect(other.md).toContain(
      "Spent in all: $0.0046* at the batch price (answers $0.0026, grading $0.0020*); * over the runs with a price",
    );
    // Without a judge, the table's total says it all: no such line.
    expect((await report(40)).md).not.toContain("Spent in all");
  });

  it("writes paths under the program's directory relative to it, in the page's header and notes as in the Markdown", async () => {
    const d = dir("paths");
    fs.mkdirSync(d, { recursive: true });
    const rowsFile = path.join(d, "rows.jsonl");
    await writeRows(rowsFile, 4);
    const meta = {
      dataset: path.join(d, "data", "arith.jsonl"),
      endpoint: "/v1/chat/completions",
      generatedAt: "2026-08-14T09:30:00Z",
      reused: [],
      notes: [
        `mistral-small-latest: 1 result line without a custom_id (${path.join(d, "out", "errors.jsonl")} line 3)`,
      ],
    };
    const inside = await writeReport(reportOptions(rowsFile, path.join(d, "out"), 4, { meta, baseDir: d }));
    const html = fs.readFileSync(inside.htmlPath, "utf8");
    expect(html).toContain("<dt>Dataset</dt><dd><code>data/arith.jsonl</code> · 4 items</dd>");
    expect(html).toContain("(out/errors.jsonl line 3)");
    expect(html).not.toContain(d);
    // A path outside it stays as it is.
    const elsewhere = await writeReport(
      reportOptions(rowsFile, path.join(d, "out2"), 4, { meta, baseDir: path.join(d, "other") }),
    );
    expect(fs.readFileSync(elsewhere.htmlPath, "utf8")).toContain(
      `<code>${path.join(d, "data", "arith.jsonl")}</code>`,
    );
  });

  it("escapes table-breaking characters and markup in model names; a p-value's `<` stays as written", async () => {
    const s = summaries(2).map((x, i) =>
      i === 0 ? { ...x, model: "a|b\nc" } : i === 1 ? { ...x, model: "<img src=x> </b> <!-- <?php" } : x,
    );
    const d = dir("md");
    fs.mkdirSync(d);
    const rowsFile = path.join(d, "rows.jsonl");
    await writeRows(rowsFile, 2);
    const out = await writeReport({ ...reportOptions(rowsFile, path.join(d, "out"), 2), summaries: s });
    const md = fs.readFileSync(out.markdownPath, "utf8");
    expect(md).toContain("| a\\|b c | ");
    expect(md).toContain("| &lt;img src=x> &lt;/b> &lt;!-- &lt;?php | ");
    expect(md).not.toMatch(/<[A-Za-z/!?]/);
  });
});

describe("formatSummaryTable", () => {
  it("is a plain-text table with aligned columns, one line per model, each accuracy with its interval", () => {
    const s = summaries(40).map((x) => ({
      ...x,
      accuracyInterval:
        x.accuracy === null ? null : accuracyInterval(x.scored, x.accuracy * x.scored, x.accuracy * x.scored, true),
    }));
    s[1] = { ...s[1], cost: null, estimatedCost: null, status: undefined, accuracyInterval: undefined };
    const text = formatSummaryTable(s);
    const lines = text.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(
      /^model\s+status\s+accuracy\s+95% CI\s+scored\s+ok\/total\s+failed\s+unattributed\s+prompt tok\s+completion tok\s+cost\s+estimated$/,
    );
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines[2]).toMatch(
      /^mistral-large-latest\s+SUCCESS\s+90\.0%\s+76\.9–96\.0%\s+40\s+40\/40\s+0\s+0\s+915\s+239\s+\$0\.0016\s+\$0\.0020$/,
    );
    expect(lines[3]).toMatch(/^mistral-small-latest\s+—\s+72\.5%\s+—\s.*no price\s+—$/);
    expect(lines[4]).toMatch(/^ministral-3b-latest \(reused\)\s+SUCCESS\s+44\.4%\s+29\.5–60\.4%\s+36\s+36\/40\s+4\s/);
    // Columns line up: each right-aligned figure ends where its header does.
    const end = (line: string, word: string) => line.indexOf(word) + word.length;
    expect(end(lines[2], "90.0%")).toBe(end(lines[0], "accuracy"));
    expect(end(lines[4], "44.4%")).toBe(end(lines[0], "accuracy"));
    expect(end(lines[2], "40/40")).toBe(end(lines[0], "ok/total"));
    expect(text).not.toContain("\x1b["); // no colour codes
  });

  it("says when there are no models", () => {
    expect(formatSummaryTable([])).toContain("(no models)");
  });
});

describe("formatUsd", () => {
  it("shows small amounts with two significant digits and large ones in cents", () => {
    expect([0, 0.000023, 0.00082, 0.0016, 0.05, 1.5, 1234.567, null].map(formatUsd)).toEqual([
      "$0.00",
      "$0.000023",
      "$0.00082",
      "$0.0016",
      "$0.0500",
      "$1.50",
      "$1,234.57",
      "—",
    ]);
  });
});

describe("writeReport: a large rows file", () => {
  it("reads 50,000 rows streaming: completes quickly, counts every item, caps what it shows", async () => {
    const d = dir("large");
    fs.mkdirSync(d);
    const rowsFile = path.join(d, "rows.jsonl");
    const N = 50_000;
    const padding = `Context: ${"lorem ipsum ".repeat(40)}`;
    await writeRows(rowsFile, N, (i) => {
      const row = rowOf(i);
      row.prompt = `${padding}\n${row.prompt}`;
      return row;
    });
    const rowsBytes = fs.statSync(rowsFile).size;
    expect(rowsBytes).toBeGreaterThan(30 * 1024 * 1024);
    const s = summaries(N);
    const started = Date.now();
    const out = await writeReport({ ...reportOptions(rowsFile, path.join(d, "out"), N), summaries: s });
    const elapsed = Date.now() - started;
    // About half a second here; the bound leaves room for slow machines. (Memory is bounded by construction:
    // only the capped items are kept; a heap figure would measure the garbage collector's timing, not the report.)
    expect(elapsed).toBeLessThan(15_000);
    const html = structure(fs.readFileSync(out.htmlPath, "utf8"));
    expect(itemIds(html)).toHaveLength(500);
    expect(html).toContain("Showing 500 of 50,000 items; 49,500 omitted (maxItems = 500).");
    expect(html).toContain("50,000 items; the models disagree on <b>27,501</b>");
    expect(count(section(html, "models"), /<tr class="miss /g)).toBe(300);
    expect(html.length).toBeLessThan(rowsBytes / 5);
    expect(fs.readFileSync(out.markdownPath, "utf8")).toContain("Models disagree on 27,501 of 50,000 items.");
  });
});
