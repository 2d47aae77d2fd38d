/**
 * The report page's one script, inline and small: search, filter and sort the answers side by side. The page's
 * Content-Security-Policy allows this script alone, by its SHA-256 (`script-src 'sha256-…'`): no other inline
 * script, no file, no event attribute runs, whatever the dataset or the answers hold. Without script the page still
 * works: every item shown, the CSS-only "show only disagreements" box, each answer's details (`<details>`).
 *
 * Written as plain ES2017 without template literals, so the text hashed is the text served.
 */
import * as crypto from "node:crypto";

export const SCRIPT = `(function () {
  "use strict";
  var table = document.querySelector("table.items");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr.item"));
  var search = document.getElementById("item-search");
  var model = document.getElementById("item-model");
  var verdict = document.getElementById("item-verdict");
  var sort = document.getElementById("item-sort");
  var only = document.getElementById("only-disagree");
  var count = document.getElementById("item-count");
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var start = rows.slice();
  document.getElementById("item-tools").hidden = false;
  function cells(r) {
    var all = Array.prototype.slice.call(r.querySelectorAll("td.ans"));
    return model.value === "" ? all : all.filter(function (c) { return c.getAttribute("data-model") === model.value; });
  }
  function matches(r, i) {
    var q = search.value.trim().toLowerCase();
    if (q !== "" && texts[i].indexOf(q) < 0) return false;
    if (only.checked && !r.classList.contains("disagree")) return false;
    var v = verdict.value;
    if (v === "") return true;
    if (v === "disagree" || v === "agree") return r.classList.contains(v);
    return cells(r).some(function (c) { return c.classList.contains(v); });
  }
  function num(r, name) { return Number(r.getAttribute(name)); }
  var orders = {
    shown: function (a, b) { return start.indexOf(a) - start.indexOf(b); },
    dataset: function (a, b) { return num(a, "data-index") - num(b, "data-index"); },
    id: function (a, b) {
      return a.getAttribute("data-custom-id").localeCompare(b.getAttribute("data-custom-id"), undefined, { numeric: true });
    },
    fewest: function (a, b) { return num(a, "data-right") - num(b, "data-right") || num(a, "data-index") - num(b, "data-index"); },
    most: function (a, b) { return num(b, "data-right") - num(a, "data-right") || num(a, "data-index") - num(b, "data-index"); }
  };
  function update() {
    var sorted = rows.slice().sort(orders[sort.value] || orders.shown);
    sorted.forEach(function (r) { body.appendChild(r); });
    var shown = 0;
    rows.forEach(function (r, i) {
      var ok = matches(r, i);
      r.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown === rows.length ? "All " + rows.length + " items shown" : shown + " of " + rows.length + " items match";
  }
  [search, model, verdict, sort, only].forEach(function (el) {
    el.addEventListener(el === search ? "input" : "change", update);
  });
  update();
})();`;

/** The CSP source that allows SCRIPT and nothing else. */
export const SCRIPT_HASH = `'sha256-${crypto.createHash("sha256").update(SCRIPT, "utf8").digest("base64")}'`;
