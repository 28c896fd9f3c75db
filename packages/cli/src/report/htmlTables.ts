/**
 * The page's tables: plain tables, the folded exact counts, the entry tables (earliest and latest
 * rows) and the sentence that points to a cut table's full list (a download, or a CSV file beside
 * a PDF). Every string from the data is escaped here.
 */
import type { EntryRow, TableRows } from "./aggregate.js";
import type { FullListCsv } from "./fullLists.js";

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

/** How the page names a full list: a download link, or a file beside the PDF (HTML). */
export type FullListRef = (list: FullListCsv) => string;

/** A full list as a download link (`<a download>` of a data: URL). */
export function downloadRef(dataUrl: (list: FullListCsv) => string): FullListRef {
  return (list) =>
    `<a class="csv" download="${e(list.name)}.csv" href="${dataUrl(list)}">${e(list.name)}.csv</a> (CSV, ${n(list.rows)} rows)`;
}

/** A full list as a CSV file written beside the PDF, `files` naming each. */
export function besideRef(files: Partial<Record<FullListCsv["name"], string>>): FullListRef {
  return (list) =>
    `<span class="mono">${e(files[list.name] ?? `${list.name}.csv`)}</span> (CSV, ${n(list.rows)} rows, beside this PDF)`;
}

/** Where the full list of a cut table is, and whether it holds every row. */
export function fullListNote(list: FullListCsv, ref: FullListRef): string {
  const all = list.rows === list.total ? `all ${n(list.total)}` : `${n(list.rows)} of ${n(list.total)}`;
  return `${all} are in ${ref(list)}${list.capNote ? ` (${e(list.capNote)})` : ""}`;
}

export function table(headers: string[], rows: string[][], numeric: boolean[] = []): string {
  const th = headers.map((h, i) => `<th${numeric[i] ? ' class="num"' : ""}>${h}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function exactCounts(summary: string, inner: string, open: boolean): string {
  return `<details${open ? " open" : ""}><summary>${summary}</summary>${inner}</details>`;
}

export function figure(svg: string | undefined, label: string): string {
  return svg === undefined ? "" : `<figure role="img" aria-label="${e(label)}">${svg}</figure>`;
}

export function entryRowsTable(
  rows: TableRows<EntryRow>,
  withOutcome: boolean,
  what: string,
  full: FullListCsv,
  ref: FullListRef,
): string {
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
  // Widths in percent, in column order: a timestamp wraps only between date, time and fraction (a
  // nanosecond time overflowed its column in the PDF), operation names at "_".
  const widths = withOutcome ? [14, 10, 18, 18, 20, 8, 12] : [14, 10, 19, 19, 24, 14];
  const tr = (r: EntryRow) =>
    `<tr><td class="ts">${e(r.timestamp).replace("T", "<wbr>T").replace(".", "<wbr>.")}</td><td>${e(r.userId) || "<i>(none)</i>"}</td>` +
    `<td><span class="op">${e(r.operation).replace(/_/g, "_<wbr>")}</span><br>${e(r.description)}</td>` +
    `<td class="mono">${e(r.targets)}</td><td class="pre">${e(r.details)}</td>` +
    (withOutcome
      ? `<td class="outcome">${r.success ? '<span class="ok">succeeded</span>' : '<span class="fail">failed</span>'}</td>`
      : "") +
    `<td class="mono">${e(r.sourceIp)}<br><span class="req">${e(r.reqId)}</span></td></tr>`;
  const more =
    rows.omitted > 0
      ? `<tr class="more"><td colspan="${headers.length}">… and ${n(rows.omitted)} more between these (${n(rows.total)} in all: the full list is ${ref(full)}) …</td></tr>`
      : "";
  const th = headers.map((h) => `<th>${h}</th>`).join("");
  const shown = rows.total - rows.omitted;
  const note =
    rows.omitted > 0
      ? `<p class="note">${n(rows.total)} ${what}: the earliest ${n(rows.head.length)} and the latest ${n(rows.tail.length)} are listed here; ${fullListNote(full, ref)}.</p>`
      : `<p class="note">${n(shown)} ${what}, oldest first.</p>`;
  const cols = widths.map((w) => `<col style="width:${w}%">`).join("");
  return `${note}<table class="entries"><colgroup>${cols}</colgroup><thead><tr>${th}</tr></thead><tbody>\n${rows.head.map(tr).join("\n")}\n${more}\n${rows.tail.map(tr).join("\n")}\n</tbody></table>`;
}
