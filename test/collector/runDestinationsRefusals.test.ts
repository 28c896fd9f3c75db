/**
 * The collector's URL destinations refusing (docs/destinations.md, docs/collector.md), as users run
 * `run --config` and `config check`:
 * - a file the check refuses (`format: ocsf` on an S3 lake, `ca` on plain syslog, an unset
 *   `hec_token_env`): both commands, one line naming the file, line and key, exit 2;
 * - a destination that refuses us at its open (bad S3 credentials, a missing bucket, a syslog+tls
 *   receiver whose certificate the `ca` does not trust, an invalid HEC token): `config check`
 *   passes (it sends nothing), `run` exits 2 in one line naming the destination, before any request
 *   reached the emulator, nothing written (no state object, no state file) and nothing delivered;
 * - a destination that refuses only at its first commit (an index the HEC token may not write):
 *   a failing destination (retried each round, in /readyz and the metrics) while the others fill
 *   up; `run --once` exits 1 naming it, nothing of it marked delivered.
 * And `config check`'s summary counts the new kinds.
 */
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@jest/globals";
import { runMain } from "../cli/helpers.js";
import { type Rsyslog, startRsyslog } from "../helpers/rsyslog.js";
import { makeTestTls } from "../helpers/tls.js";
import { waitFor } from "../helpers/waitFor.js";
import { checkLake, type DestinationSpec, problems, writeCollectorConfig } from "./harness.js";
import { metric, opsAddress, readyz } from "./opsClient.js";
import {
  BUCKET,
  HEC_TOKEN_VAR,
  type RemoteFixture,
  remoteDestinations,
  useRemoteFixture,
} from "./remoteFixture.js";

let f: RemoteFixture;
useRemoteFixture((x) => {
  f = x;
});
let n = 0;

/** A config of `destinations` for the account `prod` only, in a folder of its own (mode 0600). */
function config(destinations: DestinationSpec[], settings: Record<string, unknown> = {}) {
  const dir = join(f.tmp.dir, `r${++n}`);
  const file = writeCollectorConfig(dir, f.accounts, { accounts: ["prod"], destinations, settings });
  chmodSync(file, 0o600);
  return { dir, file };
}

/** `args` in this process with the fixture's environment over `extra`. */
function cli(args: string[], extra: Record<string, string> = {}) {
  return runMain(args, { ...f.env(extra), HOME: f.tmp.dir });
}

/** A refusal of `args`: exit 2, one line, nothing on stdout, no request served meanwhile; the line. */
async function refused(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const calls = f.accounts.emu.calls;
  const r = await cli(args, extra);
  if (r.code !== 2) throw new Error(`exit ${r.code}, not 2:\n${r.stderr}`);
  expect({ code: r.code, stdout: r.stdout, lines: r.stderr.split("\n").length }).toEqual({
    code: 2,
    stdout: "",
    lines: 2,
  });
  expect(f.accounts.emu.calls).toBe(calls);
  return r.stderr.replace(/^clarifai-audit: error: /, "").trimEnd();
}

/** Nothing of the setup in `dir` written: no S3 object under `prefix`, no stream state file. */
async function nothingWritten(dir: string, prefix?: string): Promise<void> {
  if (prefix !== undefined) expect(await f.s3.listKeys(BUCKET, `${prefix}/`)).toEqual([]);
  const streams = join(dir, "state", "streams");
  const files = existsSync(streams)
    ? readdirSync(streams, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    : [];
  expect(files.map((e) => e.name)).toEqual([]);
}

test("keys the check refuses: one line naming the file, line and key, from run and config check alike", async () => {
  const cases: Array<[DestinationSpec, RegExp, Record<string, string>?]> = [
    [
      { id: "s3", to: `s3://${BUCKET}/ocsf-lake`, format: "ocsf" },
      /destinations\[0\]\.format: ocsf is for the stream layout \(`layout=stream` in the URL's query\); a lake holds/,
    ],
    [
      { id: "sys", to: `syslog://127.0.0.1:${f.rsyslog.port}`, ca: f.hec.tls.caPath },
      /destinations\[0\]\.ca: only for a TLS destination/,
    ],
    [
      { id: "hec", to: f.hec.url(), hecTokenEnv: "E2E_UNSET_TOKEN" },
      /destinations\[0\]\.hec_token_env: the variable E2E_UNSET_TOKEN is not set/,
    ],
  ];
  for (const [destination, problem] of cases) {
    const c = config([destination]);
    for (const args of [
      ["run", "--config", c.file, "--once"],
      ["config", "check", c.file],
    ]) {
      const line = await refused(args);
      expect(line).toMatch(new RegExp(`^config file ${c.file}:\\d+: ${problem.source}`));
    }
    await nothingWritten(c.dir, "ocsf-lake");
  }
});

test("destinations that refuse at their open: config check passes, run exits 2 naming the destination, before any request, nothing written", async () => {
  const wrongCa = makeTestTls();
  let tls: Rsyslog | undefined;
  try {
    // A syslog+tls receiver with a certificate of the HEC collector's CA, and a config trusting another.
    tls = await startRsyslog({ tls: f.hec.tls });
    const badToken = "e2e-not-a-valid-token";
    const cases: Array<[DestinationSpec, string | undefined, RegExp, Record<string, string>?]> = [
      [
        { id: "creds", to: `s3://${BUCKET}/creds` },
        "creds",
        /s3:\/\/audit\/creds\/account=prod: .*(credential|signature|access|denied)/i,
        // s3rver checks the key id only (test/destinations/s3Bucket.test.ts): an unknown one.
        { AWS_ACCESS_KEY_ID: "AKIAE2EWRONGWRONG000", AWS_SECRET_ACCESS_KEY: "e2e-wrong-secret-4711" },
      ],
      [
        { id: "nobucket", to: "s3://e2e-missing/p" },
        undefined,
        /s3:\/\/e2e-missing\/p\/account=prod: .*bucket/i,
      ],
      [
        { id: "tls", to: `syslog+tls://localhost:${tls.port}`, ca: wrongCa.caPath },
        undefined,
        /syslog\+tls:\/\/localhost:\d+: .*certificate/i,
      ],
      [
        { id: "token", to: f.hec.url("ack=on"), ca: f.hec.tls.caPath, hecTokenEnv: HEC_TOKEN_VAR },
        undefined,
        // The token's source in the file's words (not sync's CLARIFAI_AUDIT_HEC_TOKEN).
        new RegExp(
          `splunk\\+https://127\\.0\\.0\\.1:\\d+: the HEC token was refused \\(HTTP 403, code 4 "Invalid token"\\); check hec_token_env ${HEC_TOKEN_VAR}$`,
        ),
        { [HEC_TOKEN_VAR]: badToken },
      ],
    ];
    for (const [destination, prefix, problem, extra] of cases) {
      const c = config([destination]);
      const check = await cli(["config", "check", c.file], extra);
      expect({ code: check.code, stdout: check.stdout }).toEqual({
        code: 0,
        stdout: expect.stringContaining(": valid collector config: 1 account, 1 destination ("),
      });
      const line = await refused(["run", "--config", c.file, "--once"], extra);
      expect(line).toMatch(
        new RegExp(`^config file ${c.file}:\\d+: destinations\\[0\\] \\(${destination.id}\\): `),
      );
      expect(line).toMatch(problem);
      for (const secret of Object.values(extra ?? {})) expect(line).not.toContain(secret);
      await nothingWritten(c.dir, prefix);
    }
    expect(tls.records()).toEqual([]);
    expect(f.hec.events).toEqual([]);
  } finally {
    await tls?.close();
  }
});

test("a destination that refuses only at its first commit: failing, retried each round, in /readyz and the metrics; --once exits 1 naming it", async () => {
  const [local, , , , hec] = remoteDestinations(f, "index") as DestinationSpec[];
  const forbidden = { ...(hec as DestinationSpec & { to: string }), to: f.hec.url("index=secret&ack=on") };
  const c = config([local as DestinationSpec, forbidden], { unhealthy_after: "100ms" });
  const state = join(c.dir, "state", "streams", "hec", "prod.json");
  const p = f.spawn(c.file);
  const base = await opsAddress(p);
  await waitFor(async () => (await readyz(base)).body.includes("destination hec"), {
    what: "readyz naming hec",
  });
  const ready = await readyz(base);
  expect(ready.status).toBe(503);
  expect(ready.body).toMatch(/account prod, destination hec: failing for \d+ s: .*refuses the index secret/);
  // Retried each round: the failures go on counting, while the local lake fills up.
  const failures = async () =>
    (
      await metric(base, "clarifai_audit_delivery_failures_total", { account: "prod", destination: "hec" })
    )[0] ?? 0;
  const first = await failures();
  await waitFor(async () => (await failures()) > first, { what: "another failed round" });
  expect(
    await metric(base, "clarifai_audit_destination_up", { account: "prod", destination: "hec" }),
  ).toEqual([0]);
  expect(
    await metric(base, "clarifai_audit_destination_up", { account: "prod", destination: "local" }),
  ).toEqual([1]);
  expect(problems(await checkLake(join(c.dir, "lake"), f.accounts.expected(["prod"])))).toEqual([]);
  p.signal("SIGTERM");
  const stopped = await p.exit;
  expect({ code: stopped.code, stderr: stopped.code === 0 ? "" : stopped.stderr }).toEqual({
    code: 0,
    stderr: "",
  });
  // --once: the failure after the summary, exit 1, naming the destination.
  const once = await cli(["run", "--config", c.file, "--once"]);
  expect(once.code).toBe(1);
  expect(once.stderr).toMatch(
    /run --once: 1 failure\(s\), each retried by the next run: .*hec.*refuses the index secret/,
  );
  // Nothing of it indexed, nothing marked delivered: the state file (written once the token was
  // accepted, and with the window a run pinned) holds no entry id and counts no entry.
  expect(f.hec.events).toEqual([]);
  const file = JSON.parse(readFileSync(state, "utf8")) as {
    keys: string;
    state?: { totals: { entries: number }; run?: { cursor: { stats: { entries: number } } } };
  };
  expect({
    keys: file.keys,
    totals: file.state?.totals.entries ?? 0,
    walked: file.state?.run?.cursor.stats.entries ?? 0,
  }).toEqual({ keys: "", totals: 0, walked: 0 });
}, 30_000);

test("config check counts the new kinds in its summary", async () => {
  const c = config(remoteDestinations(f, "summary"));
  const r = await cli(["config", "check", c.file, "--json"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(
    `${c.file}: valid collector config: 1 account, 5 destinations (1 lake, 2 s3, 1 syslog, 1 hec), listen 127.0.0.1:0, no coordination, pat_command not run (--resolve runs it)\n`,
  );
  expect(JSON.parse(r.stderr.trim().split("\n").pop() as string)).toMatchObject({
    destinations: 5,
    lake: 1,
    postgres: 0,
    alerts: 0,
    s3: 2,
    syslog: 1,
    hec: 1,
  });
  // Nothing written: no lake, no state, no S3 object.
  expect(readdirSync(c.dir)).toEqual(["collector.yaml"]);
  expect(await f.s3.listKeys(BUCKET, "summary-")).toEqual([]);
});
