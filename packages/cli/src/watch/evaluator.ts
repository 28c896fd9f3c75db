/**
 * Evaluates compiled rules on entries, one at a time, in the order they are given (oldest first, as
 * `watch` polls and exports are written), keeping the state of threshold windows and learned values,
 * which it can save and restore (the watch checkpoint) so that a restart continues exactly there.
 *
 * - A plain rule fires once per matching entry.
 * - A threshold rule counts matching entries per group within a sliding window ending at the newest
 *   one; when the count is reached it fires once, with those entries, and the group starts afresh.
 * - A new_value rule learns (group, value) pairs; during its learn period (from the first entry it
 *   evaluated) it only learns, afterwards a pair not seen before fires.
 */
import { operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import { parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { type Alert, alertKey } from "./alert.js";
import type { CompiledRule, Field, RestEntry } from "./rules.js";

/** An entry as the evaluator reads it: parsed REST JSON and its exact line. */
export interface EvalEntry {
  json: RestEntry;
  line: string;
}

/** Saved state of one rule. */
export interface RuleState {
  /** The rule's fingerprint when saved; state of a changed rule is dropped. */
  fp: string;
  /** Threshold windows: group → [timestamp ns, line] oldest first. */
  windows?: Array<[string, Array<[string, string]>]>;
  /** new_value: start of learning (ns) and the learned group/value pairs. */
  learnStart?: string;
  learned?: string[];
}

/** Saved state of every rule, by rule id. */
export type EvaluatorState = Record<string, RuleState>;

interface Hit {
  ns: bigint;
  line: string;
}

interface Live {
  rule: CompiledRule;
  windows?: Map<string, Hit[]>;
  learnStart?: bigint;
  learned?: Set<string>;
}

const SEP = "\u0000";

/** The value of `field` in an entry ("" when absent). */
export function fieldValue(e: RestEntry, field: Field): string {
  switch (field) {
    case "user_id":
      return e.user?.id ?? "";
    case "source_ip":
      return e.source_ip ?? "";
    case "operation":
      return e.operation === undefined ? "" : operationName(e.operation);
    case "req_id":
      return e.req_id ?? "";
    case "app_id": {
      const targets = e.targets ?? [];
      for (const t of targets) {
        const id = t.app?.id;
        if (typeof id === "string" && id !== "") return id;
      }
      for (const t of targets) {
        for (const v of Object.values(t)) {
          const id = v?.app_id;
          if (typeof id === "string" && id !== "") return id;
        }
      }
      return "";
    }
    case "target": {
      const t = e.targets?.[0];
      if (t === undefined) return "";
      const kind = Object.keys(t)[0];
      return kind === undefined ? "" : `${kind}=${String(t[kind]?.id ?? "")}`;
    }
  }
}

function entryNs(e: RestEntry): bigint {
  const ts = e.timestamp === undefined ? undefined : parseTs(e.timestamp);
  return ts === undefined ? 0n : tsToNs(ts);
}

/** Rule evaluation with saved state. */
export class Evaluator {
  private readonly live: Live[];
  /** Rules whose saved state was dropped because their definition changed. */
  readonly reset: string[] = [];

  constructor(rules: readonly CompiledRule[], saved?: EvaluatorState) {
    this.live = rules.map((rule) => {
      const s = saved?.[rule.id];
      const usable = s !== undefined && s.fp === rule.fingerprint;
      if (s !== undefined && !usable) this.reset.push(rule.id);
      const live: Live = { rule };
      if (rule.threshold) {
        live.windows = new Map(
          usable
            ? (s.windows ?? []).map(([g, hits]) => [g, hits.map(([ns, line]) => ({ ns: BigInt(ns), line }))])
            : [],
        );
      }
      if (rule.newValue) {
        live.learned = new Set(usable ? s.learned : []);
        if (usable && s.learnStart !== undefined) live.learnStart = BigInt(s.learnStart);
      }
      return live;
    });
  }

  /** The alerts `entry` fires, in rule order. */
  evaluate(entry: EvalEntry): Alert[] {
    let alerts: Alert[] | undefined;
    let ns: bigint | undefined;
    const e = entry.json;
    for (const l of this.live) {
      const rule = l.rule;
      if (!rule.matches(e)) continue;
      let fired: Alert | undefined;
      if (rule.threshold) {
        ns ??= entryNs(e);
        fired = this.threshold(l, entry, ns);
      } else if (rule.newValue) {
        ns ??= entryNs(e);
        fired = this.newValue(l, entry, ns);
      } else {
        fired = {
          rule: rule.id,
          title: rule.title,
          severity: rule.severity,
          time: e.timestamp ?? "",
          key: alertKey(rule.id, null, [entry.line]),
          group: null,
          entries: [entry.line],
        };
      }
      if (fired === undefined) continue;
      if (alerts === undefined) alerts = [fired];
      else alerts.push(fired);
    }
    return alerts ?? NONE;
  }

  private threshold(l: Live, entry: EvalEntry, ns: bigint): Alert | undefined {
    const t = l.rule.threshold as NonNullable<CompiledRule["threshold"]>;
    const group = t.by === undefined ? "" : fieldValue(entry.json, t.by);
    const windows = l.windows as Map<string, Hit[]>;
    let hits = windows.get(group);
    if (hits === undefined) {
      hits = [];
      windows.set(group, hits);
    }
    // Late entries are inserted in time order; the window ends at the newest entry of the group.
    let i = hits.length;
    while (i > 0 && (hits[i - 1] as Hit).ns > ns) i--;
    hits.splice(i, 0, { ns, line: entry.line });
    const floor = (hits[hits.length - 1] as Hit).ns - t.withinNs;
    let drop = 0;
    while (drop < hits.length && (hits[drop] as Hit).ns < floor) drop++;
    if (drop > 0) hits.splice(0, drop);
    if (hits.length < t.count) return undefined;
    windows.delete(group);
    const lines = hits.map((h) => h.line);
    return {
      rule: l.rule.id,
      title: l.rule.title,
      severity: l.rule.severity,
      time: entry.json.timestamp ?? "",
      key: alertKey(l.rule.id, t.by === undefined ? null : group, lines),
      group: t.by === undefined ? null : group,
      entries: lines,
    };
  }

  private newValue(l: Live, entry: EvalEntry, ns: bigint): Alert | undefined {
    const nv = l.rule.newValue as NonNullable<CompiledRule["newValue"]>;
    const value = fieldValue(entry.json, nv.field);
    if (value === "") return undefined;
    const group = nv.by === undefined ? "" : fieldValue(entry.json, nv.by);
    const pair = `${group}${SEP}${value}`;
    const learned = l.learned as Set<string>;
    l.learnStart ??= ns;
    if (learned.has(pair)) return undefined;
    learned.add(pair);
    if (ns < l.learnStart + nv.learnNs) return undefined;
    const g = nv.by === undefined ? null : group;
    return {
      rule: l.rule.id,
      title: l.rule.title,
      severity: l.rule.severity,
      time: entry.json.timestamp ?? "",
      key: alertKey(l.rule.id, g, [entry.line]),
      group: g,
      entries: [entry.line],
    };
  }

  /** Forgets threshold windows that can no longer fire: their newest entry is older than `ns` − within. */
  prune(ns: bigint): void {
    for (const l of this.live) {
      if (!l.windows || !l.rule.threshold) continue;
      const floor = ns - l.rule.threshold.withinNs;
      for (const [g, hits] of l.windows) {
        const newest = hits[hits.length - 1];
        if (newest === undefined || newest.ns < floor) l.windows.delete(g);
      }
    }
  }

  /** Learned (group, value) pairs in all new_value rules (for stats). */
  get learnedCount(): number {
    let n = 0;
    for (const l of this.live) n += l.learned?.size ?? 0;
    return n;
  }

  /** The state to save. */
  snapshot(): EvaluatorState {
    const out: EvaluatorState = {};
    for (const l of this.live) {
      const s: RuleState = { fp: l.rule.fingerprint };
      if (l.windows) {
        s.windows = [...l.windows].map(([g, hits]) => [g, hits.map((h) => [String(h.ns), h.line])]);
      }
      if (l.learned) {
        s.learned = [...l.learned];
        if (l.learnStart !== undefined) s.learnStart = String(l.learnStart);
      }
      out[l.rule.id] = s;
    }
    return out;
  }
}

const NONE: Alert[] = [];
