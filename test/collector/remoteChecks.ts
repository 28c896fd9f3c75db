/**
 * Checkers of the collector's URL destinations (docs/destinations.md), read back from the real
 * servers the tests run: an S3 lake and an S3 stream layout (s3rver; each account's under
 * `PREFIX/account=<id>/`) must hold each account's entries exactly once; syslog (rsyslog's records)
 * and Splunk HEC (the test collector's index) at least once, every copy naming its account and entry
 * id, with the repeats counted for the caller's bound.
 *
 * The S3 reads are the destination tests' own (test/destinations/s3LakeFixtures.ts and
 * s3StreamHelpers.ts), applied per account prefix.
 */
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { readS3Lake } from "../destinations/s3LakeFixtures.js";
import { readStream, streamKeys } from "../destinations/s3StreamHelpers.js";
import type { HecServer } from "../helpers/hecServer.js";
import { parseSyslog, type Rsyslog } from "../helpers/rsyslog.js";
import type { S3Server } from "../helpers/s3.js";
import { compareKeys, type Discrepancy } from "./exactlyOnce.js";

/** The SD-ID of the syslog destination's structured data (packages/cli/src/sync/syslog/rfc5424.ts). */
const SD_ID = "clarifai@32473";

/** The account folders (`account=<id>`) directly below `bucket/prefix`. */
async function accountFolders(s3: S3Server, bucket: string, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  for (const key of await s3.listKeys(bucket, `${prefix}/`)) {
    const m = /^account=([^/]+)\//.exec(key.slice(prefix.length + 1));
    if (m) found.add(m[1] as string);
  }
  return [...found].sort();
}

/** Accounts to compare: the expected ones and any other a destination holds. */
function accountsOf(expected: ReadonlyMap<string, readonly string[]>, held: readonly string[]): string[] {
  return [...new Set([...expected.keys(), ...held])];
}

/**
 * Checks an S3 lake destination `s3://bucket/prefix`: each account's lake, read through its state
 * object (the files it lists, their row counts checked) and as a `*.parquet` glob sees it (what
 * Athena or DuckDB read: no hidden object), holds exactly the account's entries.
 */
export async function checkS3Lake(
  s3: S3Server,
  bucket: string,
  prefix: string,
  expected: ReadonlyMap<string, readonly string[]>,
): Promise<Discrepancy[]> {
  const out: Discrepancy[] = [];
  for (const account of accountsOf(expected, await accountFolders(s3, bucket, prefix))) {
    const base = `${prefix}/account=${account}`;
    const want = expected.get(account) ?? [];
    const hasState = (await s3.readObject(bucket, `${base}/_clarifai_sync.json`)) !== undefined;
    const lake = hasState ? await readS3Lake(s3, bucket, base) : { listed: [], globbed: [] };
    out.push(compareKeys(`s3 lake ${base} (state)`, account, want, lake.listed.map(lineKey)));
    out.push(compareKeys(`s3 lake ${base} (glob)`, account, want, lake.globbed.map(lineKey)));
  }
  return out;
}

/**
 * Checks an S3 stream destination `s3://bucket/prefix?layout=stream`: each account's objects
 * (gzip JSON lines in their hour's folder) hold exactly the account's entries. With `ocsf`, each
 * line is an OCSF event whose `metadata.uid` is its entry's id and `metadata.tenant_uid` the account
 * (a line that is not is reported under `unexpected`, as `uid:<line's uid>`).
 */
export async function checkS3Stream(
  s3: S3Server,
  bucket: string,
  prefix: string,
  expected: ReadonlyMap<string, readonly string[]>,
  format: "json" | "ocsf" = "json",
): Promise<Discrepancy[]> {
  const out: Discrepancy[] = [];
  for (const account of accountsOf(expected, await accountFolders(s3, bucket, prefix))) {
    const base = `${prefix}/account=${account}`;
    const objects = await readStream(s3, bucket, base, format);
    const held = streamKeys(objects, format);
    const d = compareKeys(`s3 stream ${base}`, account, expected.get(account) ?? [], held);
    if (format === "ocsf")
      for (const line of objects.flatMap((o) => o.lines)) {
        const event = JSON.parse(line) as {
          raw_data: string;
          metadata: { uid?: string; tenant_uid?: string };
        };
        if (event.metadata.uid !== lineKey(event.raw_data) || event.metadata.tenant_uid !== account)
          d.unexpected.push(`uid:${event.metadata.uid} tenant:${event.metadata.tenant_uid}`);
      }
    out.push(d);
  }
  return out;
}

/** An at-least-once destination's copies of one account: a {@link Discrepancy} plus the repeats. */
export interface Delivered extends Discrepancy {
  /** Copies beyond the first of each entry (held − distinct). */
  repeats: number;
}

/** `Discrepancy.duplicated` is allowed here: only missing and unexpected entries are problems. */
export function atLeastOnceProblems(ds: readonly Delivered[]): string[] {
  return ds
    .filter((d) => d.missing.length + d.unexpected.length > 0)
    .map(
      (d) =>
        `${d.where}: expected ${d.expected}, holds ${d.held} (${d.repeats} repeats); missing ${d.missing.length} [${d.missing.slice(0, 3).join(" ")}], unexpected ${d.unexpected.length} [${d.unexpected.slice(0, 3).join(" ")}]`,
    );
}

function push(byAccount: Map<string, string[]>, account: string, id: string): void {
  const ids = byAccount.get(account);
  if (ids === undefined) byAccount.set(account, [id]);
  else ids.push(id);
}

function delivered(
  where: string,
  byAccount: Map<string, string[]>,
  expected: ReadonlyMap<string, readonly string[]>,
): Delivered[] {
  return accountsOf(expected, [...byAccount.keys()]).map((account) => {
    const held = byAccount.get(account) ?? [];
    const d = compareKeys(`${where} account=${account}`, account, expected.get(account) ?? [], held);
    return { ...d, repeats: held.length - new Set(held).size };
  });
}

/**
 * What rsyslog received, per account: the entry id and the account of each message's structured
 * data. With `json`, the message itself must be the entry whose id it names (else its id is
 * reported as `unexpected`).
 */
export function checkSyslog(
  rsyslog: Rsyslog,
  expected: ReadonlyMap<string, readonly string[]>,
  format: "json" | "ocsf" = "json",
): Delivered[] {
  const byAccount = new Map<string, string[]>();
  for (const record of rsyslog.records()) {
    const message = parseSyslog(record.raw);
    const sd = message.sd.get(SD_ID);
    const account = sd?.get("account") ?? "(no account)";
    let id = sd?.get("id") ?? "(no id)";
    if (format === "json" && lineKey(message.msg) !== id) id = `body-mismatch:${id}`;
    push(byAccount, account, id);
  }
  return delivered("syslog", byAccount, expected);
}

/** What the HEC test collector indexed, per account: `fields.clarifai_entry_id` and `fields.account`. */
export function checkHec(hec: HecServer, expected: ReadonlyMap<string, readonly string[]>): Delivered[] {
  const byAccount = new Map<string, string[]>();
  for (const event of hec.events) {
    const fields = event.envelope.fields as { account?: string } | undefined;
    const account = fields?.account ?? "(no account)";
    push(byAccount, account, event.id);
  }
  return delivered("hec", byAccount, expected);
}
