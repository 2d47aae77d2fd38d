/** The report page's style sheet, inlined into the page (nothing is fetched). */
export const CSS = `
:root { --bg: #f5f6f8; --card: #ffffff; --ink: #1f2430; --muted: #5f6673; --line: #e2e5ea; --soft: #f0f2f5;
  --ok: #1d7a3a; --ok-bg: #e6f4ea; --bad: #b3261e; --bad-bg: #fce8e6; --warn: #8a5a00; --warn-bg: #fff4d6; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 0 0 8px; display: flex; align-items: center; gap: 8px; }
header, section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(20, 30, 50, 0.04); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 10px 0 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ul.notes { margin: 10px 0 0; padding-left: 20px; color: var(--muted); }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; background: var(--soft); padding: 1px 5px; border-radius: 4px; }
.muted, .none { color: var(--muted); }
.note { color: var(--muted); margin: 8px 0; }
.note.cap { color: var(--warn); background: var(--warn-bg); padding: 6px 10px; border-radius: 6px; display: inline-block; }
ul.comparisons, ul.changes { margin: 8px 0; padding-left: 20px; overflow-wrap: anywhere; }
ul.comparisons li, ul.changes li { margin: 4px 0; }
ul.comparisons li.significant, ul.changes li.significant { font-weight: 600; }
ul.changes .regressed, ul.changes .improved { font-weight: 400; margin: 2px 0 0; }
.answered-by { display: block; font-size: 12px; color: #57606a; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px; vertical-align: -1px; flex: none; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 999px; background: var(--soft); color: var(--muted); vertical-align: 1px; }
.badge.reused { background: #e8eefc; color: #2a4fa8; }
.badge.disagree { background: var(--warn-bg); color: var(--warn); }
.status { font-size: 12px; font-weight: 600; padding: 1px 7px; border-radius: 4px; background: var(--soft); color: var(--muted); }
.status-success { background: var(--ok-bg); color: var(--ok); }
.status-failed, .status-timeout-exceeded, .status-cancelled { background: var(--bad-bg); color: var(--bad); }
.chart-wrap { overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, "Liberation Sans", sans-serif; font-size: 12px; fill: var(--ink); }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .tick, svg.chart .legend { fill: var(--muted); font-size: 11px; }
svg.chart .value { font-weight: 600; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .track { fill: var(--soft); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); background: #fafbfc; border-bottom: 1px solid #d5d9e0; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
tfoot td { font-weight: 600; border-top: 1px solid #d5d9e0; border-bottom: 0; }
.table-wrap { overflow-x: auto; }
a { color: #2a4fa8; text-decoration: none; }
a:hover { text-decoration: underline; }
.model-name a { color: inherit; }
table.summary { font-size: 13px; }
table.summary thead th { white-space: normal; vertical-align: bottom; }
table.summary td { white-space: nowrap; }
table.summary td.job { white-space: normal; min-width: 172px; max-width: 200px; }
table.summary .model-name { white-space: normal; flex-wrap: wrap; }
table.summary .answered-by { white-space: normal; min-width: 15em; }
table.summary .answered-by code { white-space: nowrap; }
table.summary .ci { display: block; font-size: 11.5px; color: var(--muted); }
table.summary th, table.summary td { padding: 6px 7px; }
table.summary td.job code { word-break: break-all; font-size: 11.5px; }
.model-name { display: flex; align-items: center; gap: 7px; font-weight: 600; white-space: nowrap; }
section.model { border-top: 1px solid var(--line); padding-top: 14px; margin-top: 14px; }
section.model:first-of-type { border-top: 0; margin-top: 0; padding-top: 0; }
.stats { color: var(--muted); margin: 0 0 8px; }
.stats b { color: var(--ink); }
.text { white-space: pre-wrap; word-break: break-word; max-height: 11em; overflow: auto; }
.cut { display: block; color: var(--muted); font-style: italic; font-size: 12px; }
table.items { table-layout: fixed; }
table.items th.id-col { width: 104px; }
table.items th.prompt-col { width: 22%; }
table.items th.expected-col { width: 11%; }
table.items th.right-col { width: 64px; }
th.model-col { text-transform: none; letter-spacing: 0; font-size: 12.5px; color: var(--ink); white-space: normal; }
th.model-col .model-name { white-space: normal; word-break: break-word; }
.cell { display: flex; gap: 6px; align-items: flex-start; }
.cell .body { flex: 1; min-width: 0; }
td.ans .mark { font-weight: 700; flex: none; width: 1em; text-align: center; }
td.ans.right { background: var(--ok-bg) !important; }
td.ans.right .mark { color: var(--ok); }
td.ans.wrong { background: var(--bad-bg) !important; }
td.ans.wrong .mark { color: var(--bad); }
td.ans.partial { background: var(--warn-bg) !important; }
td.ans.partial .mark { color: var(--warn); }
td.ans.failed { background: #f3f0f7 !important; }
td.ans.failed .mark { color: #6b4c9a; }
td.ans.failed .text { color: #6b4c9a; font-style: italic; }
td.ans .score { display: block; color: var(--muted); font-size: 11px; margin-top: 2px; }
td.expected .text { font-weight: 600; }
#only-disagree { margin: 0 6px 12px 0; vertical-align: -2px; }
.filter-label { cursor: pointer; user-select: none; }
#only-disagree:checked ~ .table-wrap tr.agree { display: none; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
svg.chart.narrow { display: none; }
.tools { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 4px 0 12px; }
.tools[hidden] { display: none; }
.tools label { color: var(--muted); display: flex; gap: 6px; align-items: center; }
.tools input, .tools select { font: inherit; color: var(--ink); padding: 3px 6px; border: 1px solid #c9ced6; border-radius: 6px; background: #fff; }
.tools input[type="search"] { width: 16em; max-width: 100%; }
#item-count { color: var(--muted); }
tr.item[hidden] { display: none; }
details.response { margin-top: 4px; font-size: 12px; color: var(--muted); }
details.response summary { cursor: pointer; user-select: none; }
details.response .facts { margin: 3px 0 0; }
table.items .text { max-height: 7.3em; overflow: hidden; }
table.items .body:has(details.response[open]) .text { max-height: none; }
@media (max-width: 640px) {
  main { padding: 10px 8px 32px; }
  header, section.card { padding: 12px; border-radius: 8px; }
  h1 { font-size: 21px; }
  dl.meta { grid-template-columns: 1fr; gap: 0; }
  dl.meta dt { margin-top: 6px; }
  svg.chart:not(.narrow) { display: none; }
  svg.chart.narrow { display: block; width: 100%; height: auto; }
  .chart-wrap { overflow: visible; }
  .tools label { flex: 1 1 100%; justify-content: space-between; }
  .tools input[type="search"], .tools select { flex: 1; min-width: 0; width: auto; }
  table.summary, table.items, table.misses { table-layout: auto; font-size: 13px; }
  table.summary thead, table.items thead, table.misses thead { display: none; }
  table.summary tbody, table.summary tfoot, table.items tbody, table.misses tbody,
  table.summary tr, table.items tr, table.misses tr { display: block; }
  table.summary tr, table.items tr.item, table.misses tr { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 10px; overflow: hidden; }
  table.items tr.item[hidden] { display: none; }
  table.summary td, table.items td, table.misses td {
    display: flex; gap: 10px; align-items: baseline; min-width: 0 !important; max-width: none !important;
    white-space: normal !important; text-align: left !important; border-bottom: 1px solid var(--soft); padding: 6px 10px; }
  table.summary td::before, table.items td::before, table.misses td::before {
    content: attr(data-label); flex: 0 0 34%; min-width: 0; color: var(--muted); font-size: 12px; font-weight: 600; overflow-wrap: anywhere; }
  table.summary td > *, table.items td > *, table.misses td > * { min-width: 0; }
  table.summary td.empty { display: none; }
  table.items .cell, table.misses .cell { flex: 1; }
  tbody tr:nth-child(even) td { background: transparent; }
  tfoot td { border-top: 0; }
}
`;
