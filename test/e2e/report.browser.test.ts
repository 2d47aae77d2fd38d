/**
 * The evaluation report checked in a real browser: headless Chromium opens the page from disk, the chart and tables
 * render, and a screenshot is taken.
 *
 * The browser comes from the project's dev dependencies: `@sparticuz/chromium` (a headless-shell Chromium, unpacked
 * into the temp directory on first use) driven by `puppeteer-core`. Nothing to install: `npm ci` brings it.
 * One browser, one page: after load the DOM is read (one bar per model, the tables' rows), the window is screenshotted
 * (the PNG is checked: signature, IHDR dimensions, size, and that the bars' colours are really painted), then
 * "show only disagreements" is clicked and a probe measures the layout. A second page at a phone's width (420 px) is
 * screenshotted and measured (nothing past the window's edge, no cell squeezed to a few letters), then its item tools
 * are used as a user would (typing a search, choosing a model and a verdict, sorting, opening an answer's details).
 * The browser is closed before the file ends.
 * Set CHROMIUM_BIN=/path/to/chromium to use another Chromium (or Chrome) binary instead.
 * Set REPORT_SCREENSHOT=/some/file.png to keep a copy of the screenshots (the narrow one as /some/file-narrow.png) and
 * of the page (as /some/file.html).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inflateSync } from "node:zlib";
import puppeteer, { type Browser, type LaunchOptions } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelColor, writeReport } from "../../provider/eval/report";
import { SCRIPT } from "../../provider/eval/report/script";
import { MODELS, reportOptions, rowOf, writeRows } from "../support/evalReport";

const WIDTH = 1280;
const HEIGHT = 2000;
/** A phone's width: the narrow layout (below 640 px) is checked at it. */
const NARROW = 420;
const NARROW_HEIGHT = 900;

/** Launch options: CHROMIUM_BIN if set, else the Chromium bundled in @sparticuz/chromium. */
async function launchOptions(): Promise<LaunchOptions & { executablePath: string; hint: string }> {
  const common = {
    defaultViewport: { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1 },
    timeout: 60_000,
    protocolTimeout: 60_000,
  };
  const explicit = process.env.CHROMIUM_BIN;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`CHROMIUM_BIN=${explicit}: no such file`);
    // Puppeteer adds --hide-scrollbars, --mute-audio, --no-first-run, --disable-background-networking and the like.
    return {
      ...common,
      executablePath: explicit,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      hint: "(from CHROMIUM_BIN)",
    };
  }
  // An ES module: loaded with a dynamic import. Its executablePath() unpacks the binary into the temp directory once
  // and from then on uses whatever is there, even a file left truncated by an interrupted first run.
  const chromium = (await import("@sparticuz/chromium")).default;
  const executablePath = await chromium.executablePath();
  const hint =
    `(unpacked by @sparticuz/chromium, which reuses what it finds in ${os.tmpdir()}: if an earlier unpack was ` +
    `interrupted or came from another version, delete ${executablePath} and run again)`;
  return { ...common, executablePath, headless: "shell", args: chromium.args, hint };
}

/** Closes the browser; kills its process if it does not close in time. */
async function closeBrowser(browser: Browser | undefined): Promise<void> {
  if (!browser) return;
  const proc = browser.process();
  const alive = () => !!proc && proc.exitCode === null && proc.signalCode === null;
  if (!browser.connected) {
    if (alive()) proc!.kill("SIGKILL");
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      browser.close(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("browser.close() timed out")), 10_000);
      }),
    ]);
  } catch {
    if (alive()) proc!.kill("SIGKILL");
  } finally {
    clearTimeout(timer);
  }
}

interface Png {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel, row after row. */
  pixels: Buffer;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads the IHDR header; decodes the pixels of 8-bit, non-interlaced RGB/RGBA images (what Chromium writes). */
function readPng(buf: Buffer): Png & { colorType: number; bitDepth: number } {
  if (!buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error("not a PNG: bad signature");
  if (buf.toString("latin1", 12, 16) !== "IHDR") throw new Error("not a PNG: first chunk is not IHDR");
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const bitDepth = buf[24];
  const colorType = buf[25];
  const interlace = buf[28];
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    if (type === "IDAT") idat.push(buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  if (bitDepth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) {
    return { width, height, bitDepth, colorType, pixels: Buffer.alloc(0) };
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const pixels = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? line[x - bpp] : 0;
      const b = prev[x];
      const c = x >= bpp ? prev[x - bpp] : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (line[x] + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      pixels[(y * width + x) * 4] = line[x * bpp];
      pixels[(y * width + x) * 4 + 1] = line[x * bpp + 1];
      pixels[(y * width + x) * 4 + 2] = line[x * bpp + 2];
      pixels[(y * width + x) * 4 + 3] = bpp === 4 ? line[x * bpp + 3] : 255;
    }
    prev = line;
  }
  return { width, height, bitDepth, colorType, pixels };
}

/** Pixels within a small distance of a #rrggbb colour. */
function countColor(png: Png, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < png.pixels.length; i += 4) {
    if (
      Math.abs(png.pixels[i] - r) <= 3 &&
      Math.abs(png.pixels[i + 1] - g) <= 3 &&
      Math.abs(png.pixels[i + 2] - b) <= 3
    )
      n++;
  }
  return n;
}

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

/** What the probe script measures in the laid-out page. */
interface Probe {
  viewport: number;
  documentWidth: number;
  background: string;
  svg: { width: number; height: number };
  accBars: { model: string; userWidth: number; pixelWidth: number; pixelHeight: number }[];
  costBars: { model: string; pixelWidth: number }[];
  tables: { cls: string; rows: number; width: number; height: number; overflow: number }[];
  visible: { agree: number; disagree: number; agreeTotal: number; disagreeTotal: number };
}

/** Evaluated in the page (by the DevTools protocol, so the report's Content-Security-Policy does not apply). */
const PROBE = `(() => {
const box = (el) => el.getBoundingClientRect();
const shown = (el) => el.getClientRects().length > 0;
const svg = document.querySelector("svg.chart");
const rows = (cls) => [...document.querySelectorAll("tr.item." + cls)];
const out = {
  viewport: window.innerWidth,
  documentWidth: document.documentElement.scrollWidth,
  background: getComputedStyle(document.documentElement).backgroundColor,
  svg: { width: box(svg).width, height: box(svg).height },
  accBars: [...svg.querySelectorAll("rect.bar.acc")].map((r) => ({ model: r.dataset.model, userWidth: r.getBBox().width, pixelWidth: box(r).width, pixelHeight: box(r).height })),
  costBars: [...svg.querySelectorAll("rect.bar.cost")].map((r) => ({ model: r.dataset.model, pixelWidth: box(r).width })),
  tables: [...document.querySelectorAll("table")].map((t) => ({ cls: t.className, rows: t.tBodies[0].rows.length, width: box(t).width, height: box(t).height, overflow: t.parentElement.scrollWidth - t.parentElement.clientWidth })),
  visible: { agree: rows("agree").filter(shown).length, disagree: rows("disagree").filter(shown).length, agreeTotal: rows("agree").length, disagreeTotal: rows("disagree").length },
};
return out;
})()`;

/**
 * Evaluated in the page at either width: whether anything is wider than the window, and the narrowest visible text
 * cell of each table (a cell's content box, without its label), as wide in pixels and in characters of its font.
 */
const LAYOUT_PROBE = `(() => {
const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
const vw = window.innerWidth;
const all = [...document.querySelectorAll("body *")].filter(shown);
const over = all.filter((el) => el.getBoundingClientRect().right > vw + 1).map((el) => el.tagName + "." + el.className);
const cells = {};
const squeezed = [];
for (const t of document.querySelectorAll("table")) {
  for (const td of t.querySelectorAll("tbody td, tfoot td")) {
    if (!shown(td) || td.textContent.trim() === "") continue;
    // The width a cell's content has: its content box, less its label (::before) and the gap in the card layout.
    const cs = getComputedStyle(td);
    const before = getComputedStyle(td, "::before");
    const inner = td.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const labelled = before.content !== "none" && before.content !== "normal" && cs.display === "flex";
    const label = labelled ? (parseFloat(before.width) || 0) + (parseFloat(cs.columnGap) || 0) : 0;
    const width = inner - label;
    const ch = parseFloat(cs.fontSize) * 0.55;
    const was = cells[t.className];
    if (!was || width < was.width) cells[t.className] = { width, chars: width / ch, text: td.textContent.trim().slice(0, 40) };
    // Each piece of the cell (the model's name, its "answered by" line, a badge, an interval) at least as wide as
    // its text or 12 characters, whichever is less: a piece squeezed beside another breaks its words to letters.
    for (const el of td.children) {
      const text = el.textContent.trim();
      if (!shown(el) || text === "") continue;
      const w = el.getBoundingClientRect().width;
      const need = Math.min(text.length, 12) * parseFloat(getComputedStyle(el).fontSize) * 0.55;
      if (w < need - 1) squeezed.push(t.className + ": " + el.className + " " + Math.round(w) + "px < " + Math.round(need) + "px: " + text.slice(0, 40));
    }
  }
}
const narrowChart = document.querySelector("svg.chart.narrow");
const wideChart = document.querySelector("svg.chart:not(.narrow)");
return {
  viewport: vw,
  documentWidth: document.documentElement.scrollWidth,
  overflowing: over.slice(0, 10),
  wraps: [...document.querySelectorAll(".table-wrap, .chart-wrap")].filter(shown).map((w) => w.scrollWidth - w.clientWidth),
  cells,
  squeezed,
  charts: { wide: shown(wideChart), narrow: shown(narrowChart), narrowWidth: narrowChart.getBoundingClientRect().width },
  tools: shown(document.getElementById("item-tools")),
};
})()`;

interface LayoutProbe {
  viewport: number;
  documentWidth: number;
  overflowing: string[];
  wraps: number[];
  squeezed: string[];
  cells: Record<string, { width: number; chars: number; text: string }>;
  charts: { wide: boolean; narrow: boolean; narrowWidth: number };
  tools: boolean;
}

/** The ids of the item rows shown, in their order on the page. */
const VISIBLE_IDS = `[...document.querySelectorAll("table.items tr.item")].filter((r) => r.getClientRects().length > 0).map((r) => r.dataset.customId)`;

describe("the report in headless Chromium", { timeout: 180_000 }, () => {
  const N = 40;
  let work: string;
  let htmlPath: string;
  let launching: Promise<Browser> | undefined;
  let version = "";
  let dom = "";
  let png: Buffer = Buffer.alloc(0);
  let probe: Probe | undefined;
  let wide: LayoutProbe | undefined;
  let narrow: LayoutProbe | undefined;
  let narrowPng: Buffer = Buffer.alloc(0);
  const consoleErrors: string[] = [];
  /** What the item tools did in the narrow page: the rows shown after each step, and the expanded answer. */
  const steps: Record<string, unknown> = {};

  /** The rendered results (the tests fail, never skip, when the browser did not run). */
  function rendered(): { dom: string; png: Buffer; probe: Probe } {
    if (!probe) throw new Error("the page was not rendered: see the error of the beforeAll hook");
    return { dom, png, probe };
  }

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "report-browser-"));
    const rowsFile = path.join(work, "rows.jsonl");
    // Item 4 (i = 3, which mistral-large-latest gets wrong) has a long answer of that model: it shows in part until
    // its details are opened.
    await writeRows(rowsFile, N, (i) => {
      const row = rowOf(i);
      if (i === 3) {
        const large = row.answers["mistral-large-latest"]!;
        row.answers["mistral-large-latest"] = {
          ...large,
          answer: Array.from({ length: 30 }, (_, k) => `Line ${k + 1} of a long answer.`).join("\n"),
          finishReason: "length",
        };
      }
      return row;
    });
    ({ htmlPath } = await writeReport(reportOptions(rowsFile, path.join(work, "out"), N, { maxItems: 30 })));
    const { hint, ...options } = await launchOptions();
    launching = puppeteer.launch(options);
    let browser: Browser;
    try {
      browser = await launching;
    } catch (err) {
      throw new Error(`could not launch Chromium ${options.executablePath} ${hint}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      version = await browser.version();
      const page = await browser.newPage();
      await page.goto(`file://${htmlPath}`, { waitUntil: "load" });
      await page.evaluate("document.fonts.ready.then(() => true)");
      dom = await page.content();
      png = Buffer.from(await page.screenshot({ type: "png" }));
      // The probe: "show only disagreements" ticked by a click on its label, then the laid-out page measured.
      await page.click('label[for="only-disagree"]');
      if (!(await page.evaluate('document.getElementById("only-disagree").checked')))
        throw new Error("clicking the label did not tick the filter");
      probe = (await page.evaluate(PROBE)) as Probe;
      wide = (await page.evaluate(LAYOUT_PROBE)) as LayoutProbe;

      // The narrow page: a phone's width, its screenshot and layout, then the item tools as a user works them.
      const phone = await browser.newPage();
      phone.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      phone.on("pageerror", (e) => consoleErrors.push(String(e)));
      await phone.setViewport({ width: NARROW, height: NARROW_HEIGHT, deviceScaleFactor: 1 });
      await phone.goto(`file://${htmlPath}`, { waitUntil: "load" });
      await phone.evaluate("document.fonts.ready.then(() => true)");
      narrowPng = Buffer.from(await phone.screenshot({ type: "png" }));
      narrow = (await phone.evaluate(LAYOUT_PROBE)) as LayoutProbe;
      steps.initial = await phone.evaluate(VISIBLE_IDS);
      steps.count0 = await phone.evaluate('document.getElementById("item-count").textContent');
      await phone.type("#item-search", "q1");
      steps.search = await phone.evaluate(VISIBLE_IDS);
      steps.count1 = await phone.evaluate('document.getElementById("item-count").textContent');
      await phone.click("#item-search", { count: 3 });
      await phone.keyboard.press("Backspace");
      await phone.select("#item-model", "mistral-large-latest");
      await phone.select("#item-verdict", "wrong");
      steps.wrong = await phone.evaluate(VISIBLE_IDS);
      await phone.select("#item-model", "");
      await phone.select("#item-verdict", "failed");
      steps.failed = await phone.evaluate(VISIBLE_IDS);
      await phone.select("#item-verdict", "");
      await phone.select("#item-sort", "id");
      steps.byId = await phone.evaluate(VISIBLE_IDS);
      await phone.select("#item-sort", "fewest");
      steps.fewest = await phone.evaluate(
        `[...document.querySelectorAll("table.items tr.item")].map((r) => Number(r.dataset.right))`,
      );
      await phone.select("#item-sort", "shown");
      steps.back = await phone.evaluate(VISIBLE_IDS);
      // The long answer: shown in part, then whole once its details are opened (a click on "Full response").
      const cell = 'tr.item[data-custom-id="q4"] td.ans[data-model="mistral-large-latest"]';
      const measure = `(() => { const t = document.querySelector('${cell} .text'); return { shown: t.getBoundingClientRect().height, whole: t.scrollHeight }; })()`;
      steps.before = await phone.evaluate(measure);
      await phone.click(`${cell} details.response summary`);
      steps.after = await phone.evaluate(measure);
      steps.facts = await phone.evaluate(`document.querySelector('${cell} details.response .facts').textContent`);
      await phone.close();
    } finally {
      await closeBrowser(browser);
    }
    const keep = process.env.REPORT_SCREENSHOT;
    if (keep) {
      fs.writeFileSync(keep, png);
      fs.writeFileSync(keep.replace(/(\.png)?$/i, "-narrow.png"), narrowPng);
      fs.copyFileSync(htmlPath, `${keep.replace(/\.png$/i, "")}.html`);
    }
  }, 150_000);

  afterAll(async () => {
    // Also when beforeAll failed or timed out half-way: the browser must not outlive the file.
    await closeBrowser(await launching?.catch(() => undefined));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** The narrow page's results (the tests fail, never skip, when the browser did not run). */
  function phone(): { layout: LayoutProbe; png: Buffer } {
    if (!narrow || !wide) throw new Error("the narrow page was not rendered: see the error of the beforeAll hook");
    return { layout: narrow, png: narrowPng };
  }

  it("runs a real Chromium", () => {
    expect(version).toMatch(/^(Headless)?Chrome\/\d+\./);
  });

  it("renders the chart: an <svg role=img> with one accuracy bar and one cost bar per model", () => {
    const { dom } = rendered();
    const svg = dom.match(/<svg class="chart"[\s\S]*?<\/svg>/)?.[0] ?? "";
    expect(svg).toMatch(/role="img"/);
    expect(svg).toMatch(/aria-label="Accuracy and cost per model\./);
    expect(count(svg, /<rect class="bar acc"/g)).toBe(MODELS.length);
    expect(count(svg, /<rect class="bar cost"/g)).toBe(MODELS.length);
    for (const m of MODELS) expect(svg).toContain(`data-model="${m}"`);
  });

  it("renders the tables with their rows", () => {
    const { dom } = rendered();
    const summary = dom.match(/<table class="summary">[\s\S]*?<\/table>/)?.[0] ?? "";
    expect(count(summary.match(/<tbody>[\s\S]*?<\/tbody>/)?.[0] ?? "", /<tr data-model=/g)).toBe(MODELS.length);
    const items = dom.match(/<table class="items">[\s\S]*?<\/table>/)?.[0] ?? "";
    expect(count(items, /<tr class="item (dis)?agree"/g)).toBe(30);
    expect(count(items, /<td class="ans /g)).toBe(30 * MODELS.length);
    expect(count(dom, /<table class="misses">/g)).toBe(MODELS.length);
    expect(dom).toContain("Showing 30 of 40 items; 10 omitted");
    // The hostile text arrived as text: no element was made of it. The one script is the page's own.
    expect(count(dom, /<script/gi)).toBe(1);
    expect(dom).toContain(`<script>${SCRIPT}</script>`);
    expect(dom).toContain('&lt;script&gt;alert("pwned")&lt;/script&gt;');
  });

  it("lays the page out: bars sized by their figures, tables fitting the window, the CSS-only filter working", () => {
    const { probe } = rendered();
    expect(probe.viewport).toBe(WIDTH);
    expect(probe.documentWidth, "nothing wider than the window").toBeLessThanOrEqual(WIDTH);
    expect(probe.background).toBe("rgb(245, 246, 248)");
    expect(probe.svg.width).toBeGreaterThan(800);
    expect(probe.svg.height).toBeGreaterThan(100);
    // Accuracy bars: 300 user units at 100%; the fixture's accuracies are 90%, 72.5% and 16/36.
    expect(probe.accBars.map((b) => b.model)).toEqual([...MODELS]);
    [270, 217.5, 133.3].forEach((w, i) => {
      expect(probe.accBars[i].userWidth).toBeCloseTo(w, 3);
    });
    for (const b of probe.accBars) {
      expect(b.pixelWidth).toBeGreaterThan(50);
      expect(b.pixelHeight).toBeGreaterThan(10);
    }
    // Cost bars ordered as the costs are (large > small > 3b).
    const [large, small, tiny] = probe.costBars.map((b) => b.pixelWidth);
    expect(large).toBeGreaterThan(small);
    expect(small).toBeGreaterThan(tiny);
    const byClass = new Map(probe.tables.map((t) => [t.cls, t]));
    expect(byClass.get("summary")).toMatchObject({ rows: MODELS.length, overflow: 0 });
    expect(byClass.get("items")).toMatchObject({ rows: 30, overflow: 0 });
    expect(probe.tables.filter((t) => t.cls === "misses")).toHaveLength(MODELS.length);
    for (const t of probe.tables) expect(t.height, `table ${t.cls}`).toBeGreaterThan(40);
    // "Show only disagreements" ticked: the agreeing rows are hidden, by CSS alone.
    expect(probe.visible.agreeTotal).toBeGreaterThan(0);
    expect(probe.visible.agree).toBe(0);
    expect(probe.visible.disagree).toBe(probe.visible.disagreeTotal);
  });

  it("takes a screenshot: a real PNG of the window's size, with the bars painted in each model's colour", () => {
    const { png: buf } = rendered();
    expect(buf.length).toBeGreaterThan(20_000);
    const img = readPng(buf);
    expect([img.width, img.height]).toEqual([WIDTH, HEIGHT]);
    expect(img.bitDepth).toBe(8);
    expect(img.pixels.length, `unexpected PNG colour type ${img.colorType}`).toBe(WIDTH * HEIGHT * 4);
    // The light page background dominates, and each model's colour covers at least its two bars' worth of pixels.
    expect(countColor(img, "#f5f6f8")).toBeGreaterThan(100_000);
    MODELS.forEach((_, i) => {
      expect(countColor(img, modelColor(i)), `colour of ${MODELS[i]}`).toBeGreaterThan(1_500);
    });
  });

  it("fits a phone's width (420 px): nothing overflows, the narrow chart replaces the wide one, the tables become cards", () => {
    const { layout } = phone();
    expect(layout.viewport).toBe(NARROW);
    expect(layout.documentWidth, "nothing wider than the window").toBeLessThanOrEqual(NARROW);
    expect(layout.overflowing, "elements past the right edge").toEqual([]);
    expect(
      layout.wraps.every((w) => w <= 0),
      `scrolling inside: ${layout.wraps}`,
    ).toBe(true);
    expect(layout.charts).toMatchObject({ wide: false, narrow: true });
    expect(layout.charts.narrowWidth).toBeGreaterThan(NARROW - 60);
    // No text cell narrower than a few characters (the summary's and the items' columns used to shrink to letters).
    for (const cls of ["summary", "items", "misses"]) {
      const cell = layout.cells[cls];
      expect(cell, cls).toBeDefined();
      expect(cell!.chars, `${cls}: narrowest cell ${JSON.stringify(cell)}`).toBeGreaterThan(12);
    }
    expect(layout.squeezed, "pieces of cells narrower than their text").toEqual([]);
    // And at the desktop width, the wide chart and no cell squeezed either.
    expect(wide!.charts).toMatchObject({ wide: true, narrow: false });
    expect(wide!.documentWidth).toBeLessThanOrEqual(WIDTH);
    for (const cls of ["summary", "items", "misses"]) expect(wide!.cells[cls]!.chars, cls).toBeGreaterThan(4);
    expect(wide!.squeezed, "pieces of cells narrower than their text").toEqual([]);
  });

  it("takes a screenshot at 420 px: the window's size, each model's colour painted by the narrow chart", () => {
    const img = readPng(phone().png);
    expect([img.width, img.height]).toEqual([NARROW, NARROW_HEIGHT]);
    MODELS.forEach((_, i) => {
      expect(countColor(img, modelColor(i)), `colour of ${MODELS[i]}`).toBeGreaterThan(500);
    });
  });

  it("runs its own script (allowed by its hash: the tools show, no CSP error) and searches, filters and sorts the items", () => {
    phone();
    expect(narrow!.tools).toBe(true);
    expect(consoleErrors).toEqual([]);
    const initial = steps.initial as string[];
    expect(initial).toHaveLength(30);
    expect(steps.count0).toBe("All 30 items shown");
    // Search: the rows whose text holds "q1" (only ids do: q1, q10-q19 among those shown).
    const expectedSearch = initial.filter((id) => id.includes("q1"));
    expect(steps.search).toEqual(expectedSearch);
    expect(steps.count1).toBe(`${expectedSearch.length} of 30 items match`);
    // mistral-large-latest wrong: items i % 10 === 3 of the fixture (q4, q14, ...), among those shown.
    expect(steps.wrong).toEqual(initial.filter((id) => Number(id.slice(1)) % 10 === 4));
    // Any model's request failed: ministral-3b-latest on i % 10 === 8.
    expect(steps.failed).toEqual(initial.filter((id) => Number(id.slice(1)) % 10 === 9));
    const byId = [...initial].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    expect(steps.byId).toEqual(byId);
    const fewest = steps.fewest as number[];
    expect(fewest).toEqual([...fewest].sort((a, b) => a - b));
    expect(steps.back).toEqual(initial);
  });

  it("expands an answer: its details give tokens, cost and finish reason, and the whole text shows", () => {
    phone();
    const before = steps.before as { shown: number; whole: number };
    const after = steps.after as { shown: number; whole: number };
    expect(before.shown).toBeLessThan(before.whole - 20);
    expect(after.shown).toBeGreaterThanOrEqual(after.whole - 1);
    expect(steps.facts).toMatch(
      /^\d+ prompt \+ \d+ completion tokens · (no price|\$[0-9.]+ at the batch price) · finish reason length$/,
    );
  });
});
