/**
 * Alerts: what a rule fired, as one JSON object whose `entries` are the entries' REST JSON lines
 * spliced in byte for byte, and its readable one-line form.
 */
import { createHash } from "node:crypto";
import { lineKey } from "@clarifai-audit/client/internal/domain/entryKey.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import type { Severity } from "./rules.js";

/** One alert. `entries` holds the entries' JSON lines (REST form), oldest first. */
export interface Alert {
  rule: string;
  title: string;
  severity: Severity;
  /** RFC 3339 time of the entry that fired the alert. */
  time: string;
  /** Stable across runs, restarts and replays of the same entries: receivers dedupe by it. */
  key: string;
  /** The `by` value the rule grouped on; null for rules without `by`. */
  group: string | null;
  entries: string[];
}

/**
 * The key of an alert: a hash of the rule id, the group and the dedupe keys of the entries that fired
 * it (packages/client/src/domain/entryKey.ts), so the same entries firing the same rule always give the same key.
 */
export function alertKey(rule: string, group: string | null, lines: readonly string[]): string {
  const h = createHash("sha256")
    .update(rule)
    .update("\u0000")
    .update(group ?? "\u0001");
  for (const line of lines) h.update("\u0000").update(lineKey(line));
  return h.digest("base64url").slice(0, 22);
}

/** The alert as one line of JSON (no newline). */
export function alertToJson(a: Alert): string {
  return `{"rule":${JSON.stringify(a.rule)},"title":${JSON.stringify(a.title)},"severity":${JSON.stringify(
    a.severity,
  )},"time":${JSON.stringify(a.time)},"key":${JSON.stringify(a.key)},"group":${JSON.stringify(
    a.group,
  )},"entries":[${a.entries.join(",")}]}`;
}

/**
 * A readable line for a terminal: `TIME SEVERITY rule: title (group …, N entries) key …`. The group
 * is entry text (a user id, an IP…), so control characters are escaped (packages/client/src/domain/terminalText.ts).
 */
export function alertToText(a: Alert): string {
  const group = a.group === null ? "" : `group ${a.group}, `;
  const n = a.entries.length;
  return terminalSafe(
    `${a.time} ${a.severity.toUpperCase().padEnd(8)} ${a.rule}: ${a.title} (${group}${n} ${
      n === 1 ? "entry" : "entries"
    }) key ${a.key}`,
  );
}
