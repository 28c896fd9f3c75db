/**
 * The report page: one self-contained HTML file — inline styles, inline SVG charts, no script, no
 * font, nothing fetched (a Content-Security-Policy of `default-src 'none'` makes sure of it) — that
 * prints well. Every string that comes from the data is escaped.
 */
import type { ReportData } from "./aggregate.js";
import { CATEGORY_LABELS, WEEKDAYS } from "./charts.js";
import { csvDataUrl, type FullListCsv, type FullListName } from "./fullLists.js";
import {
  downloadRef,
  entryRowsTable,
  escapeHtml,
  exactCounts,
  type FullListRef,
  figure,
  formatCount,
  fullListNote,
  table,
} from "./htmlTables.js";
import type { BucketCounts, ReportWindow } from "./periods.js";
import { bucketName, type TimeAxis } from "./timeAxis.js";

/** What the page says about where its data came from. */
export interface ReportMeta {
  title: string;
  /** When the report was built, RFC 3339 UTC. */
  generatedAt: string;
  /** The input (file path, or endpoint and user id). */
  source: string;
  /** What the input is. */
  sourceKind: "live" | "export" | "lake";
  /** The window charted; undefined only when there is neither a window nor an entry. */
  window?: ReportWindow;
  /** Entries of the input outside a requested window, left out of the report. */
  outside: number;
  /** Filters, as flag → values. */
  filters: [flag: string, value: string][];
  /** clarifai-audit's version. */
  version: string;
}

export { escapeHtml, formatCount };

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
a.csv { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
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

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /** Expand the exact-count tables (the PDF does: paper cannot click). */
  openDetails?: boolean;
  /** How the page names the full lists (default: embedded downloads). */
  ref?: FullListRef;
}

/** What the page is made of: the aggregation, its time axis and buckets, the charts and full lists. */
export interface ReportPage {
  data: ReportData;
  meta: ReportMeta;
  /** The page's one time axis; undefined when there is neither a window nor an entry. */
  axis?: TimeAxis;
  buckets: BucketCounts[];
  /** Chart name → SVG (packages/cli/src/report/charts.ts). */
  charts: Record<string, string>;
  lists: Record<FullListName, FullListCsv>;
}

const INPUT_NAME = { live: "the live window", export: "the export", lake: "the lake" } as const;

/** The rows of the page's header that say what the window is. */
function windowRows(meta: ReportMeta, data: ReportData): string {
  const w = meta.window;
  const row = (th: string, td: string) => `<tr><th>${th}</th><td>${td}</td></tr>`;
  const span = data.span
    ? row(
        "Entries from",
        `<span class="mono">${e(data.span.earliest)}</span> to <span class="mono">${e(data.span.latest)}</span> (UTC)`,
      )
    : row("Entries", "none");
  if (w === undefined) return span;
  const basis =
    w.basis === "pinned"
      ? "the live window walked, pinned when the report started"
      : w.basis === "requested"
        ? `the window asked for${meta.outside > 0 ? `; ${n(meta.outside)} ${meta.outside === 1 ? "entry" : "entries"} of ${INPUT_NAME[meta.sourceKind]} outside it ${meta.outside === 1 ? "is" : "are"} left out` : ""}`
        : w.basis === "synced"
          ? "the lake's first entry to its high-water mark (every entry up to it is stored); ask for a window to chart another"
          : "the span of the entries: an export records no window (ask for one to chart the window you mean)";
  return `${row("Window", `<span class="mono">${e(w.from)}</span> to <span class="mono">${e(w.to)}</span> (UTC): ${basis}`)}\n${span}`;
}

/** The sentence under a time chart's heading: what the axis covers. */
function axisNote(axis: TimeAxis): string {
  const count = axis.buckets.length;
  const first = bucketName(axis.domain[0], axis.unit);
  const last = bucketName(axis.buckets[count - 1] ?? axis.domain[0], axis.unit);
  const what = `${n(count)} ${axis.unit}${count === 1 ? "" : "s"}${axis.unit === "week" ? " (Monday to Sunday, named by their Monday)" : ""}`;
  // A window that does not start and end on the buckets' bounds (to the second): its end bars hold part of a bucket.
  const partial = axis.domain[0] < axis.window.fromMs || axis.domain[1] > axis.window.toMs + 1000;
  const ends = partial
    ? ` The first and last bars count only the part of their ${axis.unit} inside the window.`
    : "";
  return `<p class="note axis">The whole window, ${what} from ${e(first)} to ${e(last)} (UTC), one bar each: ${axis.unit}s without entries are zero.${ends} Both time charts share this axis.</p>`;
}

/** The note above a top-N table: which rows it shows of how many, and where the rest are. */
function topNote(list: FullListCsv, what: string, ref: FullListRef): string {
  if (list.rows === 0) return `<p class="note">No ${what}.</p>`;
  if (list.shown >= list.total)
    return `<p class="note">Every ${what.replace(/s$/, "")} (${n(list.total)}), most entries first.</p>`;
  return `<p class="note">The ${n(list.shown)} ${what} with the most entries, of ${n(list.total)}${list.capNote ? " counted" : ""}; ${fullListNote(list, ref)}.</p>`;
}

/** The whole page. */
export function renderHtml(p: ReportPage, options: HtmlOptions = {}): string {
  const { data, meta, charts, lists, buckets } = p;
  const open = options.openDetails ?? false;
  const ref = options.ref ?? downloadRef(csvDataUrl);
  const t = data.totals;
  const filters =
    meta.filters.length === 0
      ? "none (every operation, user, target, outcome and source IP)"
      : meta.filters.map(([flag, value]) => `<span class="mono">${e(flag)} ${e(value)}</span>`).join("; ");
  const head = `<header>
<h1>${e(meta.title)}</h1>
<p class="sub">Clarifai audit-log activity report · all times UTC</p>
<table class="meta">
${windowRows(meta, data)}
<tr><th>Filters</th><td>${filters}</td></tr>
<tr><th>Source</th><td class="mono">${e(meta.source)}</td></tr>
<tr><th>Time zone</th><td>UTC, for every time, bucket, axis and table on this page</td></tr>
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
  if (t.entries === 0 || p.axis === undefined) {
    return page(
      meta.title,
      `${head}${totals}<section><div class="empty" id="empty">No entries in this window: there is no activity to report.</div></section>${footer}`,
    );
  }
  const axis = p.axis;
  const unit = axis.unit;
  const activityTable = table(
    [axis.title, ...CATEGORY_LABELS, "Total"],
    buckets.map((b) => [`<span class="mono">${e(b.name)}</span>`, ...b.byCategory.map(n), n(b.total)]),
    [false, ...CATEGORY_LABELS.map(() => true), true],
  );
  const failuresTable = table(
    [axis.title, "Failed", "Entries"],
    buckets.map((b) => [`<span class="mono">${e(b.name)}</span>`, n(b.failed), n(b.total)]),
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
  const fsList = lists["first-seen"];
  const fsRows = data.firstSeen.rows.slice(0, fsList.shown);
  const firstSeenTable =
    fsRows.length === 0
      ? `<p class="note">No entries with both a user and a source IP.</p>`
      : `<p class="note">When each user was first seen from each source IP in this window, by user${
          fsList.shown < fsList.total
            ? `: the first ${n(fsList.shown)} pairs of ${n(fsList.total)} are listed here; ${fullListNote(fsList, ref)}`
            : fsList.capNote
              ? ` (${e(fsList.capNote)})`
              : ""
        }.</p>${table(
          ["User", "Source IP", "First seen (UTC)", "Entries"],
          fsRows.map((r) => [
            e(r.userId),
            `<span class="mono">${e(r.sourceIp)}</span>`,
            `<span class="mono">${e(r.firstSeen)}</span>`,
            n(r.entries),
          ]),
          [false, false, false, true],
        )}${fsList.shown < fsList.total ? `<p class="note">… and ${n(fsList.total - fsList.shown)} more user/IP pairs: see ${ref(fsList)}.</p>` : ""}`;
  const users = lists.users;
  const ips = lists["source-ips"];
  const body = `${head}${totals}
<section id="activity"><h2>Activity per ${unit} by category</h2>
${axisNote(axis)}
${figure(charts.activity, `Entries per ${unit}, stacked by category`)}
${exactCounts(`Exact counts per ${unit} and category`, activityTable, open)}
${exactCounts("Exact counts per operation", opsTable, open)}
</section>
<section id="failures"><h2>Failed operations per ${unit}</h2>
${t.failed === 0 ? '<p class="note">No failed operations in this window.</p>' : ""}${figure(charts.failures, `Failed operations per ${unit}`)}
${exactCounts(`Exact counts per ${unit}`, failuresTable, open)}
</section>
<section id="top-users"><h2>Top users</h2>
${topNote(users, "users", ref)}
${figure(charts.users, "Entries per user")}
${exactCounts(
  "Exact counts per user",
  tallyTable(
    "User",
    data.users.slice(0, users.shown).map((u) => ({ key: u.userId, ...u })),
  ),
  open,
)}
</section>
<section id="heatmap"><h2>Operations by weekday and hour (UTC)</h2>
${figure(charts.heatmap, "Entries per weekday and hour")}
${exactCounts("Exact counts per weekday and hour", heatTable, open)}
</section>
<section id="top-source-ips"><h2>Top source IPs</h2>
${topNote(ips, "source IPs", ref)}
${figure(charts.sourceIps, "Entries per source IP")}
${exactCounts(
  "Exact counts per source IP",
  tallyTable(
    "Source IP",
    data.sourceIps.slice(0, ips.shown).map((u) => ({ key: u.sourceIp, ...u })),
  ),
  open,
)}
</section>
<section id="deletions"><h2>Deletions</h2>${entryRowsTable(data.deletions, true, "deletions", lists.deletions, ref)}</section>
<section id="membership"><h2>Membership and collaborator changes</h2>${entryRowsTable(data.membership, true, "membership and collaborator changes", lists["membership-changes"], ref)}</section>
<section id="failed-operations"><h2>Failed operations</h2>${entryRowsTable(data.failures, false, "failed operations", lists["failed-operations"], ref)}</section>
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
