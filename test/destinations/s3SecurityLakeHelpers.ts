/**
 * What the Security Lake layout's tests read back: every object under `PREFIX/ext/`, checked to be
 * at its custom source's exact partition path, downloaded and read with DuckDB as Athena would read
 * the table: each event's class, time, id and entry, and each file's schema (DESCRIBE).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "@jest/globals";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import type { S3Server } from "../helpers/s3.js";

/** One event as read from a Parquet file. */
export interface LakeEvent {
  classUid: number;
  time: number;
  uid: string;
  tenant: string | null;
  rawData: string;
}

/** One Parquet file of the layout. */
export interface LakeFile {
  key: string;
  classUid: number;
  day: string;
  /** `DESCRIBE`'s column names and types, in order. */
  schema: string;
  events: LakeEvent[];
}

/** The files of the layout under `prefix`, read (and checked against their partition path). */
export async function readSecurityLake(
  server: S3Server,
  bucket: string,
  prefix: string,
  o: { source: string; region: string; accountId: string },
): Promise<LakeFile[]> {
  const base = prefix === "" ? "" : `${prefix}/`;
  const dir = mkdtempSync(join(tmpdir(), "seclake-test-"));
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const db = await instance.connect();
  const out: LakeFile[] = [];
  try {
    for (const key of await server.listKeys(bucket, base)) {
      const relative = key.slice(base.length);
      if (relative.startsWith("_clarifai_audit/") || relative === "_clarifai_sync.lock") continue;
      const m = new RegExp(
        `^ext/${o.source}-([0-9]{4})/region=${o.region}/accountId=${o.accountId}/eventDay=([0-9]{8})/clarifai-audit(?:-[A-Za-z0-9_.~]+)?-[0-9a-f]{8}-[0-9]{10}-[0-9]{3}\\.parquet$`,
      ).exec(relative);
      expect(m).not.toBeNull();
      const file = join(dir, `${out.length}.parquet`);
      writeFileSync(file, (await server.readObject(bucket, key)) as Buffer);
      const schema = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`))
        .getRowObjects()
        .map((r) => `${String(r.column_name)} ${String(r.column_type)}`)
        .join("\n");
      const rows = (
        await db.runAndReadAll(
          `SELECT class_uid, time, metadata.uid AS uid, metadata.tenant_uid AS tenant, raw_data FROM read_parquet('${file}')`,
        )
      ).getRowObjects();
      const events = rows.map((r) => ({
        classUid: Number(r.class_uid),
        time: Number(r.time),
        uid: String(r.uid),
        tenant: r.tenant === null ? null : String(r.tenant),
        rawData: String(r.raw_data),
      }));
      const classUid = Number(m?.[1]);
      const day = m?.[2] as string;
      for (const e of events) {
        expect(e.classUid).toBe(classUid);
        expect(new Date(e.time).toISOString().slice(0, 10).replace(/-/g, "")).toBe(day);
        expect(e.uid).toBe(lineKey(e.rawData));
      }
      out.push({ key, classUid, day, schema, events });
    }
  } finally {
    db.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** The entry keys the layout holds (with repeats, if any). */
export function lakeKeys(files: readonly LakeFile[]): string[] {
  return files.flatMap((f) => f.events.map((e) => e.uid));
}
