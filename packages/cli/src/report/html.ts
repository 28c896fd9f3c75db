/**
 * The report page: one self-contained HTML file — inline styles, inline SVG charts, no script, no
 * font, nothing fetched (a Content-Security-Policy of `default-src 'none'` makes sure of it) — that
 * prints well. Every string that comes from the data is escaped.
 */
import type { EntryRow, ReportData, TableRows } from "./aggregate.js";
import { CATEGORY_LABELS, granularityOf, periods, WEEKDAYS } from "./charts.js";

/** What the page says about where its data came from. */
export interface ReportMeta {
  title: string;
  /** When the report was built, RFC 3339 UTC. */
  generatedAt: string;
  /** The input (file path, or endpoint and user id). */
  source: string;
  /** The window asked for (a live window), when there was one; else the report states the entries' span. */
  window?: { from: string; to: string };
  /** Filters, as flag → values. */
  filters: [flag: string, value: string][];
  /** clarifai-audit's version. */
  version: string;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

const NUMBER = new Intl.NumberFormat("en-US");
/** A count for people: `20,010`. */
export function formatCount(n: number): string {
  return NUMBER.format(n);
}

const e = escapeHtml;
const n = formatCount;

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; color: #1d1d1f; margin: 0; background: #f4f5f7; font-size: 14px; line-height: 1.4; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e3e5e8; break-after: avoid; }
p.sub { margin: 0 0 16px; color: #555; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid #e3e5e8; overflow-wrap: anywhere; }
th { background: #f0f1f3; font-weight: 600; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; overflow-wrap: normal; }
.mono, td.ts { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11px; }
td.ts { overflow-wrap: normal; }
td.pre { white-space: pre-wrap; }
.meta th { width: 150px; background: none; font-weight: 600; color: #444; }
.meta td, .meta th { border: none; padding: 2px 6px 2px 0; font-size: 13px; }
.totals { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; margin: 16px 0 8px; }
.total { border: 1px solid #d9dce1; border-radius: 6px; padding: 10px 12px; }
.total .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.total .label { color: #555; font-size: 12px; }
.total.bad .value { color: #b3261e; }
figure { margin: 8px 0 4px; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
details { margin: 4px 0 12px; }
summary { cursor: pointer; color: #24527a; font-size: 13px; }
details table { margin-top: 6px; }
.empty { padding: 24px; border: 1px dashed #aaa; border-radius: 6px; text-align: center; font-size: 16px; color: #444; }
.more td { text-align: center; font-style: italic; color: #555; background: #fafafa; }
table.entries { table-layout: fixed; }
table.entries td { font-size: 11px; }
.op { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 10px; font-weight: 600; }
.req { font-size: 9px; color: #555; }
td.outcome { white-space: nowrap; overflow-wrap: normal; }
.fail { color: #b3261e; font-weight: 600; }
.ok { color: #2e7d32; }
.note { color: #555; font-size: 12px; }
footer { margin-top: 32px; color: #777; font-size: 11px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  h2 { margin-top: 18px; }
  th, td { padding: 2px 4px; }
  table { font-size: 10px; }
  table.entries td, .mono, td.ts { font-size: 9.5px; }
  section { break-inside: auto; }
  summary { color: #333; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

function table(headers: string[], rows: string[][], numeric: boolean[] = []): string {
  const th = headers.map((h, i) => `<th${numeric[i] ? ' class="num"' : ""}>${h}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function exactCounts(summary: string, inner: string, open: boolean): string {
  return `<details${open ? " open" : ""}><summary>${summary}</summary>${inner}</details>`;
}

function figure(svg: string | undefined, label: string): string {
  return svg === undefined ? "" : `<figure role="img" aria-label="${e(label)}">${svg}</figure>`;
}

function entryRowsTable(rows: TableRows<EntryRow>, withOutcome: boolean, what: string): string {
  if (rows.total === 0) return `<p class="note">No ${what} in this window.</p>`;
  const headers = [
    "Time (UTC)",
    "User",
    "Operation",
    "Targets",
    "Details",
    ...(withOutcome ? ["Outcome"] : []),
    "Source IP / request",
  ];
  // Widths in percent, in column order: a timestamp wraps only between date and time, operation names at "_".
  const widths = withOutcome ? [14, 10, 18, 18, 20, 8, 12] : [14, 10, 19, 19, 24, 14];
  const tr = (r: EntryRow) =>
    `<tr><td class="ts">${e(r.timestamp).replace("T", "<wbr>T")}</td><td>${e(r.userId) || "<i>(none)</i>"}</td>` +
    `<td><span class="op">${e(r.operation).replace(/_/g, "_<wbr>")}</span><br>${e(r.description)}</td>` +
    `<td class="mono">${e(r.targets)}</td><td class="pre">${e(r.details)}</td>` +
    (withOutcome
      ? `<td class="outcome">${r.success ? '<span class="ok">succeeded</span>' : '<span class="fail">failed</span>'}</td>`
      : "") +
    `<td class="mono">${e(r.sourceIp)}<br><span class="req">${e(r.reqId)}</span></td></tr>`;
  const more =
    rows.omitted > 0
      ? `<tr class="more"><td colspan="${headers.length}">… and ${n(rows.omitted)} more between these (${n(rows.total)} in all; the export holds every one) …</td></tr>`
      : "";
  const th = headers.map((h) => `<th>${h}</th>`).join("");
  const shown = rows.total - rows.omitted;
  const note =
    rows.omitted > 0
      ? `<p class="note">${n(rows.total)} ${what}: the earliest ${n(rows.head.length)} and the latest ${n(rows.tail.length)} are listed.</p>`
      : `<p class="note">${n(shown)} ${what}, oldest first.</p>`;
  const cols = widths.map((w) => `<col style="width:${w}%">`).join("");
  return `${note}<table class="entries"><colgroup>${cols}</colgroup><thead><tr>${th}</tr></thead><tbody>\n${rows.head.map(tr).join("\n")}\n${more}\n${rows.tail.map(tr).join("\n")}\n</tbody></table>`;
}

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /** Expand the exact-count tables (the PDF does: paper cannot click). */
  openDetails?: boolean;
}

/** The whole page. `charts` maps chart names to their SVG (packages/cli/src/report/charts.ts). */
export function renderHtml(
  data: ReportData,
  meta: ReportMeta,
  charts: Record<string, string>,
  options: HtmlOptions = {},
): string {
  const open = options.openDetails ?? false;
  const t = data.totals;
  const windowRow = meta.window
    ? `<tr><th>Window</th><td class="mono">${e(meta.window.from)} to ${e(meta.window.to)} (UTC)</td></tr>`
    : "";
  const spanRow = data.span
    ? `<tr><th>${meta.window ? "Entries from" : "Window (entries)"}</th><td class="mono">${e(data.span.earliest)} to ${e(data.span.latest)} (UTC)</td></tr>`
    : `<tr><th>Entries</th><td>none</td></tr>`;
  const filters =
    meta.filters.length === 0
      ? "none (every operation, user, target, outcome and source IP)"
      : meta.filters.map(([flag, value]) => `<span class="mono">${e(flag)} ${e(value)}</span>`).join("; ");
  const head = `<header>
<h1>${e(meta.title)}</h1>
<p class="sub">Clarifai audit-log activity report</p>
<table class="meta">
${windowRow}
${spanRow}
<tr><th>Filters</th><td>${filters}</td></tr>
<tr><th>Source</th><td class="mono">${e(meta.source)}</td></tr>
<tr><th>Generated</th><td class="mono">${e(meta.generatedAt)} by clarifai-audit ${e(meta.version)}</td></tr>
</table>
</header>`;
  const card = (label: string, value: string, id: string, bad = false) =>
    `<div class="total${bad ? " bad" : ""}"><div class="value" id="total-${id}">${value}</div><div class="label">${label}</div></div>`;
  const atLeast = (count: number, capped: boolean) => (capped ? `≥ ${n(count)}` : n(count));
  const totals = `<section id="totals"><h2>Totals</h2><div class="totals">
${card("Entries", n(t.entries), "entries")}
${card("Users", atLeast(t.users, t.usersCapped), "users")}
${card("Failed operations", n(t.failed), "failed", t.failed > 0)}
${card("Deletions", n(t.deletions), "deletions")}
${card("Membership and collaborator changes", n(t.membershipChanges), "membership")}
${card("Distinct source IPs", atLeast(t.sourceIps, t.sourceIpsCapped), "source-ips")}
</div>${
    t.usersCapped || t.sourceIpsCapped
      ? `<p class="note">Users and source IPs are counted exactly up to ${n(data.limits.distinctCap)} distinct values; past that the count is a lower bound.</p>`
      : ""
  }</section>`;
  const footer = `<footer>Counts are of audit-log entries. Deletions are <span class="mono">*_DELETE</span> operations (failed attempts included; see Outcome);
membership and collaborator changes are organisation member and invitation operations, team member additions and removals, and application collaborator operations.
Times are UTC. Generated by clarifai-audit ${e(meta.version)}.</footer>`;
  if (t.entries === 0) {
    return page(
      meta.title,
      `${head}${totals}<section><div class="empty" id="empty">No entries in this window: there is no activity to report.</div></section>${footer}`,
    );
  }

  const granularity = granularityOf(data);
  const rows = periods(data, granularity);
  const unit = granularity === "day" ? "Day (UTC)" : "Month (UTC)";
  const activityTable = table(
    [unit, ...CATEGORY_LABELS, "Total"],
    rows.map((p) => [
      `<span class="mono">${e(p.day)}</span>`,
      ...p.byCategory.map(n),
      n(p.byCategory.reduce((a, b) => a + b, 0)),
    ]),
    [false, ...CATEGORY_LABELS.map(() => true), true],
  );
  const failuresTable = table(
    [unit, "Failed", "Entries"],
    rows.map((p) => [
      `<span class="mono">${e(p.day)}</span>`,
      n(p.failed),
      n(p.byCategory.reduce((a, b) => a + b, 0)),
    ]),
    [false, true, true],
  );
  const tallyTable = (label: string, items: { key: string; total: number; failed: number }[]) =>
    table(
      [label, "Entries", "Succeeded", "Failed"],
      items.map((i) => [
        i.key === "" ? "<i>(none)</i>" : `<span class="mono">${e(i.key)}</span>`,
        n(i.total),
        n(i.total - i.failed),
        n(i.failed),
      ]),
      [false, true, true, true],
    );
  const heatTable = table(
    ["Weekday", ...Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"))],
    WEEKDAYS.map((d, w) => [d.slice(0, 3), ...data.heat.slice(w * 24, w * 24 + 24).map(n)]),
    [false, ...Array.from({ length: 24 }, () => true)],
  );
  const opsTable = table(
    ["Operation", "Category", "Entries", "Failed"],
    data.operations.map((o) => [
      `<span class="mono">${e(o.name)}</span>`,
      e(o.category),
      n(o.total),
      n(o.failed),
    ]),
    [false, false, true, true],
  );
  const topNote = (shown: number, total: number, what: string) =>
    `<p class="note">The ${n(shown)} ${what} with the most entries${total > shown ? `, of ${n(total)}` : ""}.</p>`;
  const fs = data.firstSeen;
  const firstSeenTable =
    fs.rows.length === 0
      ? `<p class="note">No entries with both a user and a source IP.</p>`
      : `<p class="note">When each user was first seen from each source IP in this window, by user.${
          fs.untrackedPairs
            ? ` Only the first ${n(data.limits.firstSeenCap)} user/IP pairs met are tracked.`
            : ""
        }</p>${table(
          ["User", "Source IP", "First seen (UTC)", "Entries"],
          fs.rows.map((r) => [
            e(r.userId),
            `<span class="mono">${e(r.sourceIp)}</span>`,
            `<span class="mono">${e(r.firstSeen)}</span>`,
            n(r.entries),
          ]),
          [false, false, false, true],
        )}${fs.omitted > 0 ? `<p class="note">… and ${n(fs.omitted)} more user/IP pairs.</p>` : ""}`;

  const body = `${head}${totals}
<section id="activity"><h2>Activity per ${granularity} by category</h2>
${figure(charts.activity, "Entries per period, stacked by category")}
${exactCounts("Exact counts per period and category", activityTable, open)}
${exactCounts("Exact counts per operation", opsTable, open)}
</section>
<section id="failures"><h2>Failed operations per ${granularity}</h2>
${t.failed === 0 ? '<p class="note">No failed operations in this window.</p>' : figure(charts.failures, "Failed operations per period")}
${exactCounts("Exact counts per period", failuresTable, open)}
</section>
<section id="top-users"><h2>Top users</h2>
${topNote(data.topUsers.length, t.users, "users")}
${figure(charts.users, "Entries per user")}
${exactCounts(
  "Exact counts per user",
  tallyTable(
    "User",
    data.topUsers.map((u) => ({ key: u.userId, ...u })),
  ),
  open,
)}
</section>
<section id="heatmap"><h2>Operations by weekday and hour (UTC)</h2>
${figure(charts.heatmap, "Entries per weekday and hour")}
${exactCounts("Exact counts per weekday and hour", heatTable, open)}
</section>
<section id="top-source-ips"><h2>Top source IPs</h2>
${topNote(data.topSourceIps.length, t.sourceIps, "source IPs")}
${figure(charts.sourceIps, "Entries per source IP")}
${exactCounts(
  "Exact counts per source IP",
  tallyTable(
    "Source IP",
    data.topSourceIps.map((u) => ({ key: u.sourceIp, ...u })),
  ),
  open,
)}
</section>
<section id="deletions"><h2>Deletions</h2>${entryRowsTable(data.deletions, true, "deletions")}</section>
<section id="membership"><h2>Membership and collaborator changes</h2>${entryRowsTable(data.membership, true, "membership and collaborator changes")}</section>
<section id="failed-operations"><h2>Failed operations</h2>${entryRowsTable(data.failures, false, "failed operations")}</section>
<section id="first-seen"><h2>First-seen source IPs per user</h2>${firstSeenTable}</section>
${footer}`;
  return page(meta.title, body);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}
