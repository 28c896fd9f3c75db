/**
 * Reading an S3 lake back as a reader would: the state object, then every file it lists downloaded
 * and read with hyparquet (the `entry` column), and the objects a `*.parquet` glob of the table
 * sees (what Athena/Trino/Spark read: hidden names skipped).
 */
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { tempPath } from "../../packages/cli/src/sync/lake/manifest.js";
import type { SyncStore } from "../../packages/cli/src/sync/store.js";
import { runSync, type SyncRunSummary } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { EmulatorHandle } from "../../packages/emulator/src/index.js";
import type { S3Server } from "../helpers/s3.js";
import { linesOf } from "../sync/syncHelpers.js";

interface StateObject {
  files: { path: string; rows: number }[];
  pending: string[];
  schemaVersion: number;
  state: { run?: unknown; totals: { entries: number } };
}

/** What an S3 lake holds. */
export interface S3LakeContent {
  /** `entry` of every row of the files the state lists (pending ones where they are). */
  listed: string[];
  /** `entry` of every row of the objects a `audit_log/**\/*.parquet` glob sees (no hidden name). */
  globbed: string[];
  totals: number;
  running: boolean;
  state: StateObject;
  /** Every key below the prefix. */
  keys: string[];
}

async function entriesOf(body: Buffer): Promise<string[]> {
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file, columns: ["entry"], compressors })) as { entry: string }[];
  return rows.map((r) => r.entry);
}

/** The Parquet schema (names and types) and key-value metadata of a file. */
export function parquetShape(body: Buffer): { schema: string[]; kv: Record<string, string> } {
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  const meta = parquetMetadata(file);
  return {
    schema: meta.schema.map(
      (s) => `${s.name}:${s.type ?? ""}:${s.converted_type ?? ""}:${s.repetition_type ?? ""}`,
    ),
    kv: Object.fromEntries((meta.key_value_metadata ?? []).map((k) => [k.key, k.value ?? ""])),
  };
}

/** Reads the lake below `bucket/prefix`. */
export async function readS3Lake(s3: S3Server, bucket: string, prefix: string): Promise<S3LakeContent> {
  const base = `${prefix}/`;
  const keys = await s3.listKeys(bucket, base);
  const stateBody = await s3.readObject(bucket, `${base}_clarifai_sync.json`);
  if (stateBody === undefined) throw new Error(`no state object in s3://${bucket}/${prefix}`);
  const state = JSON.parse(stateBody.toString("utf8")) as StateObject;
  const listed: string[] = [];
  for (const f of state.files) {
    let key = `${base}${f.path}`;
    if (state.pending.includes(f.path) && !keys.includes(key)) key = `${base}${tempPath(f.path)}`;
    const body = await s3.readObject(bucket, key);
    if (body === undefined) throw new Error(`${key} is listed but missing`);
    const rows = await entriesOf(body);
    if (rows.length !== f.rows) throw new Error(`${key}: ${rows.length} rows, the state says ${f.rows}`);
    listed.push(...rows);
  }
  const globbed: string[] = [];
  for (const key of keys) {
    const name = key.slice(key.lastIndexOf("/") + 1);
    if (!key.startsWith(`${base}audit_log/`) || !name.endsWith(".parquet") || /^[._]/.test(name)) continue;
    globbed.push(...(await entriesOf((await s3.readObject(bucket, key)) as Buffer)));
  }
  return {
    listed,
    globbed,
    totals: state.state.totals.entries,
    running: state.state.run !== undefined,
    state,
    keys,
  };
}

/** `lines` with each line once, and what is missing from / extra in / repeated in `got`. */
export function compareOnce(got: readonly string[], expected: readonly string[]) {
  const want = new Set(expected);
  const seen = new Map<string, number>();
  for (const l of got) seen.set(l, (seen.get(l) ?? 0) + 1);
  return {
    missing: expected.filter((l) => !seen.has(l)).length,
    extra: [...seen.keys()].filter((l) => !want.has(l)).length,
    repeated: [...seen.values()].filter((n) => n > 1).length,
  };
}

/** The log of `user` as the lake's `entry` column holds it. */
export function emulatorLines(emu: EmulatorHandle, user: string): string[] {
  const log = emu.log(user);
  if (log === undefined) throw new Error(`no log of ${user}`);
  return linesOf(Array.from({ length: log.size }, (_, i) => log.entry(log.order[i] as number)));
}

/** One sync run of the whole log (reconcile over all of it) into `store`, `commitEntries` a commit. */
export function syncAll(
  client: AuditLogClient,
  store: SyncStore,
  commitEntries: number,
): Promise<SyncRunSummary> {
  return runSync({
    client,
    store,
    settleMs: 0,
    reconcileMs: 3_650 * 86_400_000,
    perPage: 50,
    commitEntries,
    commitIntervalMs: 0,
  });
}
