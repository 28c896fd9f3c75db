/**
 * `report --format json`: the report's aggregates for scripts — the window, the totals, the counts
 * of every bucket of the window (zeros included), the weekday × hour grid and every table in full —
 * the same numbers the HTML page shows. {@link REPORT_JSON_SCHEMA} is its documented schema
 * (docs/cli/report.md); test/report checks every document against it.
 */
import type { EntryRow, FullList } from "./aggregate.js";
import { WEEKDAYS } from "./charts.js";
import { CATEGORIES } from "./entry.js";
import { ENTRY_COLUMNS, type FullListCsv } from "./fullLists.js";
import type { ReportPage } from "./html.js";

/** The `version` of the document; bumped on an incompatible change. */
export const REPORT_JSON_VERSION = 1;

const instant = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$" };
const count = { type: "integer", minimum: 0 };
const tallyRow = (key: string) => ({
  type: "object",
  additionalProperties: false,
  required: [key, "entries", "succeeded", "failed"],
  properties: { [key]: { type: "string" }, entries: count, succeeded: count, failed: count },
});
/** A full list: `rows` holds every one unless `complete` is false (a memory cap, named by `note`). */
const list = (row: object) => ({
  type: "object",
  additionalProperties: false,
  required: ["total", "complete", "rows"],
  properties: {
    total: count,
    complete: { type: "boolean" },
    note: { type: "string" },
    rows: { type: "array", items: row },
  },
});
const entryRow = {
  type: "object",
  additionalProperties: false,
  required: [...ENTRY_COLUMNS],
  properties: {
    timestamp: instant,
    user_id: { type: "string" },
    operation: { type: "string" },
    description: { type: "string" },
    targets: { type: "string" },
    details: { type: "string" },
    success: { type: "boolean" },
    source_ip: { type: "string" },
    req_id: { type: "string" },
  },
};

/** The JSON Schema (draft-07) of `report --format json`. */
export const REPORT_JSON_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "clarifai-audit activity report, as JSON",
  type: "object",
  additionalProperties: false,
  required: [
    "kind",
    "version",
    "generated_at",
    "tool",
    "title",
    "source",
    "filters",
    "time_zone",
    "window",
    "entries_outside_window",
    "span",
    "totals",
    "buckets",
    "weekday_hour",
    "operations",
    "users",
    "source_ips",
    "deletions",
    "membership_changes",
    "failed_operations",
    "first_seen",
  ],
  properties: {
    kind: { const: "clarifai-audit-report" },
    version: { const: REPORT_JSON_VERSION },
    generated_at: instant,
    tool: {
      type: "object",
      additionalProperties: false,
      required: ["name", "version"],
      properties: { name: { const: "clarifai-audit" }, version: { type: "string" } },
    },
    title: { type: "string" },
    source: {
      type: "object",
      additionalProperties: false,
      required: ["kind", "name"],
      properties: { kind: { enum: ["live", "export", "lake"] }, name: { type: "string" } },
    },
    filters: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["flag", "value"],
        properties: { flag: { type: "string" }, value: { type: "string" } },
      },
    },
    time_zone: { const: "UTC" },
    window: {
      oneOf: [
        { type: "null" },
        {
          type: "object",
          additionalProperties: false,
          required: ["from", "to", "basis"],
          properties: {
            from: instant,
            to: instant,
            basis: { enum: ["pinned", "requested", "synced", "entries"] },
          },
        },
      ],
    },
    entries_outside_window: count,
    span: {
      oneOf: [
        { type: "null" },
        {
          type: "object",
          additionalProperties: false,
          required: ["earliest", "latest"],
          properties: { earliest: instant, latest: instant },
        },
      ],
    },
    totals: {
      type: "object",
      additionalProperties: false,
      required: [
        "entries",
        "failed",
        "deletions",
        "membership_changes",
        "users",
        "users_capped",
        "source_ips",
        "source_ips_capped",
      ],
      properties: {
        entries: count,
        failed: count,
        deletions: count,
        membership_changes: count,
        users: count,
        users_capped: { type: "boolean" },
        source_ips: count,
        source_ips_capped: { type: "boolean" },
      },
    },
    buckets: {
      type: "object",
      additionalProperties: false,
      required: ["unit", "rows"],
      properties: {
        unit: { enum: ["hour", "day", "week", "month", null] },
        rows: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["start", "end", "entries", "failed", "by_category"],
            properties: {
              start: instant,
              end: instant,
              entries: count,
              failed: count,
              by_category: {
                type: "object",
                additionalProperties: false,
                required: [...CATEGORIES],
                properties: Object.fromEntries(CATEGORIES.map((c) => [c, count])),
              },
            },
          },
        },
      },
    },
    weekday_hour: {
      type: "array",
      minItems: 168,
      maxItems: 168,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["weekday", "hour", "entries"],
        properties: {
          weekday: { enum: WEEKDAYS },
          hour: { type: "integer", minimum: 0, maximum: 23 },
          entries: count,
        },
      },
    },
    operations: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "category", "entries", "failed"],
        properties: {
          name: { type: "string" },
          category: { enum: [...CATEGORIES] },
          entries: count,
          failed: count,
        },
      },
    },
    users: list(tallyRow("user_id")),
    source_ips: list(tallyRow("source_ip")),
    deletions: list(entryRow),
    membership_changes: list(entryRow),
    failed_operations: list(entryRow),
    first_seen: list({
      type: "object",
      additionalProperties: false,
      required: ["user_id", "source_ip", "first_seen", "entries"],
      properties: {
        user_id: { type: "string" },
        source_ip: { type: "string" },
        first_seen: instant,
        entries: count,
      },
    }),
  },
} as const;

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function entryRows(full: FullList<EntryRow>, csv: FullListCsv) {
  return {
    ...listHead(csv),
    rows: full.rows.map((r) => ({
      timestamp: r.timestamp,
      user_id: r.userId,
      operation: r.operation,
      description: r.description,
      targets: r.targets,
      details: r.details,
      success: r.success,
      source_ip: r.sourceIp,
      req_id: r.reqId,
    })),
  };
}

function listHead(csv: FullListCsv) {
  return { total: csv.total, complete: !csv.capNote, ...(csv.capNote ? { note: csv.capNote } : {}) };
}

/** The document of `report --format json`, as text (pretty-printed, ending in a newline). */
export function renderJson(p: Omit<ReportPage, "charts">): string {
  const { data, meta, lists } = p;
  const t = data.totals;
  const tally = (rows: { key: string; total: number; failed: number }[], key: string) =>
    rows.map((r) => ({ [key]: r.key, entries: r.total, succeeded: r.total - r.failed, failed: r.failed }));
  const doc = {
    kind: "clarifai-audit-report",
    version: REPORT_JSON_VERSION,
    generated_at: meta.generatedAt,
    tool: { name: "clarifai-audit", version: meta.version },
    title: meta.title,
    source: { kind: meta.sourceKind, name: meta.source },
    filters: meta.filters.map(([flag, value]) => ({ flag, value })),
    time_zone: "UTC",
    window: meta.window ?? null,
    entries_outside_window: meta.outside,
    span: data.span ?? null,
    totals: {
      entries: t.entries,
      failed: t.failed,
      deletions: t.deletions,
      membership_changes: t.membershipChanges,
      users: t.users,
      users_capped: t.usersCapped,
      source_ips: t.sourceIps,
      source_ips_capped: t.sourceIpsCapped,
    },
    buckets: {
      unit: p.axis?.unit ?? null,
      rows: p.buckets.map((b) => ({
        start: iso(b.start),
        end: iso(b.end),
        entries: b.total,
        failed: b.failed,
        by_category: Object.fromEntries(CATEGORIES.map((c, i) => [c, b.byCategory[i]])),
      })),
    },
    weekday_hour: data.heat.map((entries, i) => ({
      weekday: WEEKDAYS[Math.floor(i / 24)],
      hour: i % 24,
      entries,
    })),
    operations: data.operations.map((o) => ({
      name: o.name,
      category: o.category,
      entries: o.total,
      failed: o.failed,
    })),
    users: {
      ...listHead(lists.users),
      rows: tally(
        data.users.map((u) => ({ key: u.userId, ...u })),
        "user_id",
      ),
    },
    source_ips: {
      ...listHead(lists["source-ips"]),
      rows: tally(
        data.sourceIps.map((u) => ({ key: u.sourceIp, ...u })),
        "source_ip",
      ),
    },
    deletions: entryRows(data.full.deletions, lists.deletions),
    membership_changes: entryRows(data.full.membership, lists["membership-changes"]),
    failed_operations: entryRows(data.full.failures, lists["failed-operations"]),
    first_seen: {
      ...listHead(lists["first-seen"]),
      rows: data.firstSeen.rows.map((r) => ({
        user_id: r.userId,
        source_ip: r.sourceIp,
        first_seen: r.firstSeen,
        entries: r.entries,
      })),
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
