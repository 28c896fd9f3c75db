/**
 * Injectable crash points: a TEST HOOK that lets the kill tests stop a process at a named step of a
 * commit or of a run's end, deterministically, instead of at random times.
 *
 * `CLARIFAI_AUDIT_CRASH_AT=<point>[:<n>][:<action>][,…]` makes the n-th (default 1st) arrival at
 * `<point>` do `<action>`: `SIGKILL` (default; the process dies there, as on a power cut or OOM
 * kill), `SIGINT`/`SIGTERM` (the signal is sent to the process itself; it is handled like a user's
 * Ctrl-C), or `ENOSPC` (the step fails with "no space left on device", as on a full disk).
 * The points are listed in {@link CRASH_POINTS}. Unset (as in normal use), each point costs one
 * size check of an empty Map.
 */

/** Every point the code passes, by the step it stands after. */
export const CRASH_POINTS = [
  // A commit of a signed export (packages/client/src/export/sinks/fileSink.ts).
  "export.digest-written", // data fsynced and the commit's digest file written; the manifest not yet replaced
  "export.committed", // the manifest replaced (the commit point)
  // A lake commit (packages/cli/src/sync/lake/store.ts).
  "lake.staged", // rows deduped and keys updated in memory; nothing on disk yet
  "lake.file-written", // a new Parquet file written under its temporary name, not fsynced
  "lake.file-synced", // that file fsynced
  "lake.digest-staged", // a signed lake's commit digest durable under its hidden name; the state file not yet replaced
  "lake.state-written", // the state file replaced (the commit point): new files still pending
  "lake.renamed", // one pending file renamed into place, its folder not fsynced
  "lake.published", // every pending file renamed and its folder fsynced
  "lake.compact-file-synced", // a compaction's merged file written and fsynced, not listed
  "lake.compact-state-written", // the state file lists the merged file, the small ones as obsolete
  "lake.compact-published", // the merged file renamed into place, small files not deleted yet
  "lake.obsolete-deleted", // one obsolete small file deleted
  "lake.recovered", // open finished a crashed commit's renames/deletions, state not yet rewritten
  // An S3 lake commit (packages/cli/src/sync/s3/lakeStorage.ts, under lake/store.ts's protocol).
  "s3.file-uploaded", // a new Parquet file uploaded under its hidden name, not listed
  "s3.digest-staged", // a signed S3 lake's commit digest uploaded under its hidden name; the state object not yet replaced
  "s3.state-written", // the state object replaced (the commit point): new files still hidden
  "s3.copied", // one pending file copied to its final name, its hidden object still there
  "s3.published", // every pending file copied to its final name
  "s3.hidden-deleted", // the pending files' hidden objects deleted
  "s3.recovered", // open finished a crashed commit's copies and deleted unlisted hidden objects, state not yet rewritten
  // A PostgreSQL commit (packages/cli/src/sync/postgres/store.ts).
  "pg.rows-inserted", // rows inserted in the open transaction, state row not yet
  "pg.before-commit", // state row updated, COMMIT not sent
  "pg.after-commit", // COMMIT acknowledged
  // A commit of the collector's alert store (packages/cli/src/collector/alertStore.ts).
  "alerts.outbox-written", // the checkpoint (state, keys, rules' state, new alerts) replaced; nothing sent
  "alerts.delivered-one", // one (alert, destination) delivered or dead-lettered and its journal line fsynced
  // A delivery to Splunk's HTTP Event Collector (packages/cli/src/sync/hec/transport.ts).
  "hec.batch-sent", // one batch POSTed and taken by the collector (ack id known), not acknowledged yet
  "hec.batch-acked", // every batch of a commit acknowledged (or taken, acks off); the state file not yet written
  // A commit of the S3 stream layout (packages/cli/src/sync/s3/streamStore.ts).
  "stream.intent-written", // the intent object names the commit's objects; none written yet
  "stream.object-written", // one of the commit's objects written; the state object not yet
  "stream.state-committed", // the state object replaced (the commit point)
  "stream.recovered", // open adopted what a crashed commit wrote and committed that; the walk not begun
  // A run of `sync` (packages/cli/src/sync/sync.ts).
  "sync.window-pinned", // the pinned window stored (the run's first commit)
  "sync.window-walked", // the whole window walked and committed; the run's end not yet committed
  "sync.run-ended", // the state without a run (new high-water mark) committed; lock still held
  "sync.closed", // the store closed and its lock released; summary not printed
  // A commit of an at-least-once delivery store (packages/cli/src/sync/delivery/deliveryStore.ts: syslog, HEC).
  "delivery.sent", // the new entries sent and confirmed by the transport; the state file not yet replaced
  "delivery.state-written", // the state file replaced (cursor and keys of the delivered entries)
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

type Action = "SIGKILL" | "SIGINT" | "SIGTERM" | "ENOSPC";
const ACTIONS = new Set<string>(["SIGKILL", "SIGINT", "SIGTERM", "ENOSPC"]);

/** Armed points → the arrival that triggers, its action, and the arrivals so far. */
const armed = parse(process.env.CLARIFAI_AUDIT_CRASH_AT);

function parse(spec: string | undefined): Map<string, { at: number; action: Action; seen: number }> {
  const out = new Map<string, { at: number; action: Action; seen: number }>();
  if (spec === undefined || spec === "") return out;
  const known = new Set<string>(CRASH_POINTS);
  for (const item of spec.split(",")) {
    if (item.trim() === "") continue;
    const [name = "", ...rest] = item.trim().split(":");
    let at = 1;
    let action: Action = "SIGKILL";
    for (const part of rest) {
      if (/^[1-9]\d{0,8}$/.test(part)) at = Number(part);
      else if (ACTIONS.has(part)) action = part as Action;
      else refuse(`${item}: expected <point>[:<n>][:SIGKILL|SIGINT|SIGTERM|ENOSPC]`);
    }
    // A misspelt point would never fire and a test would pass without testing anything.
    if (!known.has(name)) refuse(`unknown point ${name} (one of ${CRASH_POINTS.join(", ")})`);
    out.set(name, { at, action, seen: 0 });
  }
  return out;
}

function refuse(problem: string): never {
  process.stderr.write(`clarifai-audit: error: CLARIFAI_AUDIT_CRASH_AT (a test hook): ${problem}\n`);
  process.exit(2);
}

/** Marks the arrival at `point`; does what CLARIFAI_AUDIT_CRASH_AT says for it, if anything. */
export function crashPoint(point: CrashPoint): void {
  if (armed.size === 0) return;
  const a = armed.get(point);
  if (a === undefined || ++a.seen !== a.at) return;
  if (a.action === "ENOSPC")
    throw Object.assign(new Error(`ENOSPC: no space left on device (injected at ${point})`), {
      code: "ENOSPC",
    });
  process.kill(process.pid, a.action);
}
