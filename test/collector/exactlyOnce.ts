/**
 * Exactly-once checkers of the collector's destinations: each account's destination holds exactly
 * the emulator's entries of that account (compared by entry key, packages/client/src/domain/entryKey.ts:
 * none missing, none twice, none foreign), and each expected alert reached each alert destination
 * exactly once (expected alerts: the same rules run offline over the emulator's log with the
 * evaluator `watch` uses, packages/cli/src/watch/evaluator.ts).
 *
 * - a lake destination DIR: one lake per account at `DIR/account=<id>/`, read through the lake's own
 *   reader (packages/cli/src/sync/lake/reader.ts: only the files its state file lists, each checked);
 *   a plain lake (a state file in DIR itself) stands for one account;
 * - a PostgreSQL table: grouped by its `account` column when it has one, else one account;
 * - alerts: a receiver on 127.0.0.1 counting deliveries per destination (URL path) and alert key.
 *
 * Framework-free: a check returns discrepancies; {@link assertExactlyOnce} throws one readable error.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { openLakeReader } from "../../packages/cli/src/sync/lake/reader.js";
import { Evaluator } from "../../packages/cli/src/watch/evaluator.js";
import type { CompiledRule, RestEntry } from "../../packages/cli/src/watch/rules.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { type Receiver, startReceiver } from "../cli/watchHelpers.js";

/** How one account's destination differs from what it should hold; empty lists: exactly once. */
export interface Discrepancy {
  /** `lake account=a`, `postgres audit_log account=b`, `alerts /hook/alerts account=a`. */
  where: string;
  account: string;
  expected: number;
  held: number;
  /** Expected keys not held. */
  missing: string[];
  /** Keys held more than once (each listed once). */
  duplicated: string[];
  /** Keys held that were not expected (another account's entry, an invented alert). */
  unexpected: string[];
}

/** Compares held keys with expected ones (order-free). */
export function compareKeys(
  where: string,
  account: string,
  expected: Iterable<string>,
  held: readonly string[],
): Discrepancy {
  const want = new Set(expected);
  const seen = new Map<string, number>();
  for (const k of held) seen.set(k, (seen.get(k) ?? 0) + 1);
  return {
    where,
    account,
    expected: want.size,
    held: held.length,
    missing: [...want].filter((k) => !seen.has(k)),
    duplicated: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
    unexpected: [...seen.keys()].filter((k) => !want.has(k)),
  };
}

/** One line per account whose destination is not exactly right (empty: every one is). */
export function problems(ds: readonly Discrepancy[]): string[] {
  return ds
    .filter((d) => d.missing.length + d.duplicated.length + d.unexpected.length > 0)
    .map(
      (d) =>
        `${d.where}: expected ${d.expected}, holds ${d.held}; missing ${d.missing.length} [${d.missing.slice(0, 3).join(" ")}], duplicated ${d.duplicated.length} [${d.duplicated.slice(0, 3).join(" ")}], unexpected ${d.unexpected.length} [${d.unexpected.slice(0, 3).join(" ")}]`,
    );
}

/** Throws one error listing every discrepancy; returns when each destination holds each key once. */
export function assertExactlyOnce(ds: readonly Discrepancy[]): void {
  const lines = problems(ds);
  if (lines.length > 0) throw new Error(`not exactly once:\n${lines.join("\n")}`);
}

/**
 * Held keys per account: a source that does not say which account (a plain lake, a table without
 * `account`) stands for the only expected account, and for none when several are expected.
 */
function compareAll(
  what: string,
  held: Map<string | undefined, string[]>,
  expected: ReadonlyMap<string, readonly string[]>,
): Discrepancy[] {
  const anonymous = held.get(undefined);
  const only = expected.size === 1 ? [...expected.keys()][0] : undefined;
  const byAccount = new Map<string, string[]>();
  for (const [account, keys] of held) byAccount.set(account ?? only ?? "(no account)", keys);
  if (anonymous !== undefined && only === undefined) byAccount.set("(no account)", anonymous);
  const accounts = new Set([...expected.keys(), ...byAccount.keys()]);
  return [...accounts].map((a) =>
    compareKeys(`${what} account=${a}`, a, expected.get(a) ?? [], byAccount.get(a) ?? []),
  );
}

/**
 * The entry keys of one lake, through the lake's reader; none when it has no state file yet (a run
 * killed before its first commit leaves a folder that holds nothing).
 */
export async function lakeKeys(dir: string): Promise<string[]> {
  if (!existsSync(join(dir, "_clarifai_sync.json"))) return [];
  const reader = await openLakeReader(dir, { threads: 1 });
  try {
    const rows = await (await reader.query("SELECT entry FROM audit_log")).getRows();
    return rows.map((r) => lineKey(String(r[0])));
  } finally {
    reader.close();
  }
}

/** Held keys per account of a lake destination DIR (`account=<id>/` lakes; a plain lake: undefined). */
export async function lakeKeysByAccount(dir: string): Promise<Map<string | undefined, string[]>> {
  const out = new Map<string | undefined, string[]>();
  if (existsSync(join(dir, "_clarifai_sync.json"))) out.set(undefined, await lakeKeys(dir));
  for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
    const m = /^account=(.+)$/.exec(name);
    if (m) out.set(m[1], await lakeKeys(join(dir, name)));
  }
  return out;
}

/** Checks a lake destination DIR against `expected` (account id → entry keys). */
export async function checkLake(
  dir: string,
  expected: ReadonlyMap<string, readonly string[]>,
): Promise<Discrepancy[]> {
  return compareAll("lake", await lakeKeysByAccount(dir), expected);
}

/** Held keys per account of a PostgreSQL table (by its `account` column if it has one). */
export async function postgresKeysByAccount(
  db: pg.Client,
  table = "audit_log",
): Promise<Map<string | undefined, string[]>> {
  const [schema, name] = table.includes(".") ? table.split(".", 2) : [undefined, table];
  const cols = await db.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND ($2::text IS NULL OR table_schema = $2)",
    [name, schema ?? null],
  );
  const hasAccount = cols.rows.some((c) => c.column_name === "account");
  const quoted = table
    .split(".")
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join(".");
  const rows = await db.query<{ account?: string; entry_key: string }>(
    `SELECT ${hasAccount ? "account, " : ""}entry_key FROM ${quoted}`,
  );
  const out = new Map<string | undefined, string[]>();
  for (const r of rows.rows) {
    // `sync --dest postgres://…` (no account) files its rows under account '': a plain table's.
    const a = hasAccount && r.account !== "" ? r.account : undefined;
    const keys = out.get(a) ?? [];
    if (keys.length === 0) out.set(a, keys);
    keys.push(r.entry_key);
  }
  return out;
}

/** Checks a PostgreSQL table against `expected` (account id → entry keys). */
export async function checkPostgres(
  db: pg.Client,
  expected: ReadonlyMap<string, readonly string[]>,
  table = "audit_log",
): Promise<Discrepancy[]> {
  return compareAll(`postgres ${table}`, await postgresKeysByAccount(db, table), expected);
}

/** The keys of the alerts `rules` fire over `lines` (one account's log, oldest first), as watch would. */
export function expectedAlertKeys(rules: readonly CompiledRule[], lines: readonly string[]): string[] {
  const evaluator = new Evaluator(rules);
  const keys: string[] = [];
  for (const line of lines) {
    for (const a of evaluator.evaluate({ json: JSON.parse(line) as RestEntry, line })) keys.push(a.key);
  }
  return keys;
}

/** A webhook receiver for several alert destinations (one URL path each), counting deliveries. */
export interface AlertReceiver {
  /** The webhook URL of alert destination `destination` (`http://127.0.0.1:PORT/hook/<destination>`). */
  url(destination: string): string;
  /** Alert keys delivered to `destination`, one per delivery (2xx), in arrival order. */
  deliveries(destination: string): string[];
  /** The underlying receiver (test/cli/watchHelpers.ts): `behave` makes it fail or hang. */
  receiver: Receiver;
  close(): Promise<void>;
}

/** Starts an {@link AlertReceiver} on 127.0.0.1 (ephemeral port). */
export async function startAlertReceiver(): Promise<AlertReceiver> {
  const receiver = await startReceiver();
  const path = (destination: string) => `/hook/${encodeURIComponent(destination)}`;
  return {
    receiver,
    url: (destination) => `${receiver.url}/${encodeURIComponent(destination)}`,
    deliveries: (destination) =>
      receiver.received
        .filter((r) => r.path === path(destination))
        .map((r) =>
          String(r.headers["x-clarifai-audit-alert-key"] ?? (JSON.parse(r.body) as { key: string }).key),
        ),
    close: () => receiver.close(),
  };
}

/**
 * Checks that `destination` got every expected alert exactly once. Keys are hashes of the rule and
 * the entries (unique across accounts whose logs differ), so deliveries are compared as one set
 * per destination; each discrepancy names the destination.
 */
export function checkAlerts(
  receiver: AlertReceiver,
  destination: string,
  expected: ReadonlyMap<string, readonly string[]>,
): Discrepancy[] {
  const all = [...expected.values()].flat();
  const label = [...expected.keys()].join(",");
  return [
    compareKeys(`alerts ${destination} accounts=${label}`, label, all, receiver.deliveries(destination)),
  ];
}
