/**
 * What the crash-point and run-combination tests of `sync` check after each scenario: the
 * destination (a lake's listed files, read with hyparquet; a PostgreSQL table) holds exactly the
 * emulator's log, each entry once, and its state's totals count what it holds, with no run left.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "@jest/globals";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type pg from "pg";
import { tempPath } from "../../packages/cli/src/sync/lake/manifest.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { canonicalJson } from "../../packages/client/src/domain/canonicalJson.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";

/** The JSON lines of `entries`, as the lake's `entry` column and PostgreSQL's `entry` hold them. */
export function linesOf(entries: readonly AuditLogEntry[]): string[] {
  return entries.map(entryToJsonLine);
}

function expectSameSet(got: string[], expected: string[]): void {
  expect(got.length).toBe(expected.length);
  expect(new Set(got).size).toBe(got.length);
  const want = new Set(expected);
  expect(got.filter((l) => !want.has(l))).toEqual([]);
}

interface LakeStateFile {
  files: { path: string; rows: number }[];
  pending: string[];
  state: { run?: unknown; totals: { entries: number } };
}

/**
 * The entries of the files a lake's state lists (where they are now: a pending file may still be
 * under its temporary name), and its state's `totals.entries`.
 */
export async function lakeHeld(
  dir: string,
): Promise<{ entries: string[]; totals: number; running: boolean }> {
  const state = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as LakeStateFile;
  const entries: string[] = [];
  for (const f of state.files) {
    let path = join(dir, f.path);
    if (state.pending.includes(f.path) && !existsSync(path)) path = join(dir, tempPath(f.path));
    const file = await asyncBufferFromFile(path);
    const rows = (await parquetReadObjects({ file, columns: ["entry"], compressors })) as { entry: string }[];
    expect(rows.length).toBe(f.rows);
    for (const r of rows) entries.push(r.entry);
  }
  return { entries, totals: state.state.totals.entries, running: state.state.run !== undefined };
}

/** The lake in `dir` holds `expected` (JSON lines) exactly once; its state agrees and has no run. */
export async function expectLakeHolds(dir: string, expected: string[]): Promise<void> {
  const held = await lakeHeld(dir);
  expectSameSet(held.entries, expected);
  expect(held.totals).toBe(expected.length);
  expect(held.running).toBe(false);
}

/** The table `audit_log` holds `expected` exactly once (by key and content); the state row agrees. */
export async function expectTableHolds(db: pg.Client, expected: string[]): Promise<void> {
  const rows = await db.query<{ entry_key: string; entry: unknown }>(
    "SELECT entry_key, entry FROM audit_log",
  );
  const want = new Map(expected.map((l) => [lineKey(l), canonicalJson(JSON.parse(l))]));
  expect(rows.rows.length).toBe(want.size);
  const got = new Map(rows.rows.map((r) => [r.entry_key, canonicalJson(r.entry)]));
  expect(got.size).toBe(want.size);
  const wrong = [...want].filter(([key, json]) => got.get(key) !== json).map(([key]) => key);
  expect(wrong).toEqual([]);
  const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
  expect(st.rows).toHaveLength(1);
  expect(st.rows[0].state.totals.entries).toBe(want.size);
  expect(st.rows[0].state.run).toBeUndefined();
}
