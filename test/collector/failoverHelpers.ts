/**
 * Helpers of the collector's failover tests (./runFailover.test.ts): instances of `run --config`
 * with `--log-format json`, their log lines parsed, the accounts each one holds as its /metrics says
 * (`clarifai_audit_account_lease{account}`), waits on lines that come after a given instant, and a
 * trigger that records every committed write of the PostgreSQL destination's state rows (the fence,
 * i.e. the token of the writer), so a test can say which lease's holder committed and when.
 *
 * Framework-free (no jest imports), as ./harness.ts.
 */
import { readFileSync } from "node:fs";
import type pg from "pg";
import { waitFor } from "../helpers/waitFor.js";
import { type BinProcess, spawnCollector } from "./harness.js";

/** One parsed JSON log line of the collector. */
export interface LogLine {
  /** Epoch ms of the line (the child's wall clock: the same machine as the test's). */
  at: number;
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A collector instance: the process, its ops address, its lines parsed. */
export interface Instance {
  name: string;
  p: BinProcess;
  /** `127.0.0.1:PORT` of /metrics. */
  address: string;
  /** Its JSON log lines so far (other stderr lines are skipped). */
  log(): LogLine[];
}

/** Parses a JSON log line (undefined: not one). */
export function parseLine(line: string): LogLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const { time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    return { at: Date.parse(String(time)), level: String(level), msg: String(msg), fields };
  } catch {
    return undefined;
  }
}

/** Starts `run --config config --log-format json` and waits for its ops listener. */
export async function startInstance(
  name: string,
  config: string,
  env: Record<string, string>,
): Promise<Instance> {
  const p = spawnCollector(config, env, { args: ["--log-format", "json"] });
  const line = await p.waitForLine(/listening on http:\/\//, 30_000);
  const address = /listening on http:\/\/([^ ]+) /.exec(line)?.[1];
  if (address === undefined) throw new Error(`${name}: no address in ${line}`);
  return {
    name,
    p,
    address,
    log: () => p.lines.map(parseLine).filter((l): l is LogLine => l !== undefined),
  };
}

/** The accounts whose lease `instance` holds now, by its /metrics (sorted); [] once it has exited. */
export async function heldBy(instance: Instance): Promise<string[]> {
  if (instance.p.exited) return [];
  const text = await (await fetch(`http://${instance.address}/metrics`)).text();
  const out: string[] = [];
  for (const m of text.matchAll(/^clarifai_audit_account_lease\{account="([^"]+)"\} 1$/gm))
    out.push(m[1] as string);
  return out.sort();
}

/** A series' value summed over its label sets, from `instance`'s /metrics. */
export async function metricSum(instance: Instance, name: string): Promise<number> {
  const text = await (await fetch(`http://${instance.address}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(m[1]);
  return sum;
}

/**
 * Waits until the instances hold disjoint sets of `accounts` that together cover them, each at
 * least `min` (their fair shares once every instance is live), and returns who holds what.
 */
export async function untilSplit(
  instances: readonly Instance[],
  accounts: readonly string[],
  min = 1,
): Promise<Map<Instance, string[]>> {
  let split = new Map<Instance, string[]>();
  await waitFor(
    async () => {
      split = new Map(await Promise.all(instances.map(async (i) => [i, await heldBy(i)] as const)));
      const all = [...split.values()].flat().sort();
      return (
        [...split.values()].every((held) => held.length >= min) &&
        JSON.stringify(all) === JSON.stringify([...accounts].sort())
      );
    },
    { timeoutMs: 30_000, intervalMs: 50, what: `the accounts split between ${instances.length} instances` },
  );
  return split;
}

/** The collector's line saying `instance` took `account`'s lease (`account X: lease acquired (token N)`). */
export const ACQUIRED = (account: string) =>
  new RegExp(`^account ${account}: lease acquired \\(token (\\d+)\\)$`);
/** The collector's line saying `account`'s lease was lost and its walk stops. */
export const LOST = (account: string) => new RegExp(`^account ${account}: lease lost \\(`);

/** The first line of `instance` at or after epoch ms `after` whose msg matches, waited for. */
export async function lineAfter(
  instance: Instance,
  after: number,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<LogLine> {
  let hit: LogLine | undefined;
  await waitFor(
    () => {
      hit = instance.log().find((l) => l.at >= after && pattern.test(l.msg));
      return hit !== undefined || instance.p.exited;
    },
    { timeoutMs, intervalMs: 10, what: `${instance.name}: a line ${pattern} after ${after}` },
  );
  if (hit === undefined)
    throw new Error(
      `${instance.name} exited before a line ${pattern}:\n${instance.p.lines.slice(-20).join("\n")}`,
    );
  return hit;
}

/** The token of the last `lease acquired` line of `account` in `instance`'s log (undefined: none). */
export function lastToken(instance: Instance, account: string): number | undefined {
  const hits = instance.log().filter((l) => ACQUIRED(account).test(l.msg));
  const last = hits[hits.length - 1];
  return last === undefined ? undefined : Number(ACQUIRED(account).exec(last.msg)?.[1]);
}

/** One committed write of a PostgreSQL destination's state row, as the trigger recorded it. */
export interface FenceWrite {
  seq: number;
  /** Epoch ms (the database's clock_timestamp(): the same machine). */
  at: number;
  account: string;
  fence: number | null;
  /** `claim-…` for an owner's claim at open; otherwise a commit. */
  commitId: string;
}

/**
 * Records every committed INSERT/UPDATE of the destination's state rows (the PostgreSQL store's
 * `clarifai_audit_sync_state`, created at the first open: call once it exists) in `fence_log`.
 * A rolled-back commit (a fenced one) records nothing: the log is exactly what was committed.
 */
export async function recordFenceWrites(db: pg.Client): Promise<void> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS fence_log (seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(),
      account text NOT NULL, fence bigint, commit_id text NOT NULL);
    CREATE OR REPLACE FUNCTION fence_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO fence_log (account, fence, commit_id) VALUES (NEW.account, NEW.fence, NEW.commit_id); RETURN NEW; END $$;
    CREATE OR REPLACE TRIGGER fence_log_write AFTER INSERT OR UPDATE ON clarifai_audit_sync_state
      FOR EACH ROW EXECUTE FUNCTION fence_log_write();`);
}

/** What {@link recordFenceWrites} recorded, in commit order per account. */
export async function fenceWrites(db: pg.Client): Promise<FenceWrite[]> {
  const r = await db.query<{
    seq: string;
    at: Date;
    account: string;
    fence: string | null;
    commit_id: string;
  }>("SELECT seq, at, account, fence, commit_id FROM fence_log ORDER BY seq");
  return r.rows.map((w) => ({
    seq: Number(w.seq),
    at: w.at.getTime(),
    account: w.account,
    fence: w.fence === null ? null : Number(w.fence),
    commitId: w.commit_id,
  }));
}

/** Accounts whose recorded fence went down at some write (empty: fences only went up). */
export function fencesGoingBack(writes: readonly FenceWrite[]): string[] {
  const last = new Map<string, number>();
  const back = new Set<string>();
  for (const w of writes) {
    const before = last.get(w.account);
    if (w.fence === null) continue;
    if (before !== undefined && w.fence < before) back.add(w.account);
    last.set(w.account, Math.max(before ?? w.fence, w.fence));
  }
  return [...back].sort();
}

/** SIGTERMs what still runs of `instances` and waits for their ends. */
export async function stopAll(instances: readonly Instance[]): Promise<void> {
  for (const i of instances) {
    i.p.signal("SIGCONT");
    i.p.signal("SIGTERM");
  }
  await Promise.all(instances.map((i) => i.p.exit));
}

/** The pid in a lock file (`PATH.lock`, packages/client/src/state/lock.ts); undefined: no lock. */
export function lockPid(lockFile: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(lockFile, "utf8")) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}
