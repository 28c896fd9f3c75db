/**
 * syslog+tls:// against a real rsyslogd listening with TLS (gtls, the server certificate of
 * test/helpers/tls.ts): with the private CA (`ca`) every entry is delivered; a server whose
 * certificate the checks reject (no `ca`: Node's roots; another CA; a host name the certificate
 * does not name) is refused in one line naming the destination (SyncUsageError), before anything is
 * sent or marked delivered: the state file stays as it was, or is not made.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { createSyslogStore } from "../../packages/cli/src/sync/syslog/store.js";
import { parseSyslogUrl } from "../../packages/cli/src/sync/syslog/url.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { spawnBin } from "../collector/harness.js";
import { parseSyslog, type Rsyslog, startRsyslog } from "../helpers/rsyslog.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { linesOf } from "../sync/syncHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let rs: Rsyslog;
let tls: TestTls;
let other: TestTls;
const PAT = "syslog-tls-pat-0123456789abcdef";

beforeAll(async () => {
  tmp = tempDir();
  tls = makeTestTls();
  other = makeTestTls();
  [emu, rs] = await Promise.all([
    startEmulator({ pats: { [PAT]: "tls" }, entries: [], restPort: false }),
    startRsyslog({ tls }),
  ]);
}, 60_000);

afterAll(async () => {
  await emu?.close();
  await rs?.close();
  tmp?.cleanup();
});

const sync = async (url: string, statePath: string, ca?: string) => {
  const client = new AuditLogClient({ pat: PAT, userId: "tls", endpoint: emu.grpcAddress, insecure: true });
  try {
    const store = await createSyslogStore(parseSyslogUrl(url), {
      env: {},
      format: "json",
      statePath,
      account: "tls",
      ...(ca !== undefined ? { ca } : {}),
    });
    return await runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: 60_000,
      perPage: 50,
      commitIntervalMs: 0,
    });
  } finally {
    client.close();
  }
};

it("delivers over TLS with the private CA, and refuses a certificate the checks reject in one line, marking nothing delivered", async () => {
  const now = Date.now();
  const entries = generateEntries(60, 31).map((e, i) => {
    const us = (now - 10_000) * 1000 + i * 1000 + 3;
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
  emu.append(entries, "tls");
  const statePath = join(tmp.dir, "tls.json");
  const url = `syslog+tls://127.0.0.1:${rs.port}`;
  expect((await sync(url, statePath, tls.caPath)).inserted).toBe(60);
  await rs.waitForRecords(60);
  const ids = rs.records().map((r) => parseSyslog(r.raw).sd.get("clarifai@32473")?.get("id"));
  expect(new Set(ids)).toEqual(new Set(linesOf(entries).map(lineKey)));

  // More entries, which no refused sync may deliver or mark delivered.
  emu.append(
    generateEntries(5, 32).map((e, i) => ({
      ...e,
      timestamp: { seconds: Math.floor(Date.now() / 1000) - 2, nanos: i },
    })),
    "tls",
  );
  const before = readFileSync(statePath, "utf8");
  const held = rs.records().length;
  const refusals: [string, string | undefined, RegExp][] = [
    [
      url,
      other.caPath,
      /self[- ]signed certificate in certificate chain|unable to verify|UNABLE_TO_|SELF_SIGNED/i,
    ],
    [
      url,
      undefined,
      /self[- ]signed certificate in certificate chain|unable to verify|UNABLE_TO_|SELF_SIGNED/i,
    ],
    // 127.1 is 127.0.0.1, but not a name the certificate holds.
    [`syslog+tls://127.1:${rs.port}`, tls.caPath, /ERR_TLS_CERT_ALTNAME_INVALID/],
  ];
  for (const [u, ca, reason] of refusals) {
    // A state file is of one destination: another host name is tried with a new one only.
    const paths = u === url ? [statePath, join(tmp.dir, "fresh.json")] : [join(tmp.dir, "fresh.json")];
    for (const path of paths) {
      const error = await sync(u, path, ca).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SyncUsageError);
      const message = (error as Error).message;
      expect(message).toMatch(
        /^`store`: syslog\+tls:\/\/127\.(0\.0\.)?1:\d+: the TLS connection was refused \(/,
      );
      expect(message).toMatch(reason);
      expect(message).toMatch(/nothing was sent/);
      expect(message).not.toContain("\n");
    }
    expect(readFileSync(statePath, "utf8")).toBe(before);
    expect(existsSync(join(tmp.dir, "fresh.json"))).toBe(false);
  }
  expect(rs.records().length).toBe(held);
  // The CA file is checked before any connection.
  await expect(sync(url, statePath, join(tmp.dir, "tls.json"))).rejects.toThrow(
    /^`ca`: .*holds no PEM certificate/,
  );
});

it("sync --dest syslog+tls:// refuses a certificate of another host in one line, exit 2, making no state file", async () => {
  const checkpoint = join(tmp.dir, "bin.json");
  const r = await spawnBin(
    [
      "sync",
      "--endpoint",
      emu.grpcAddress,
      "--insecure",
      "--dest",
      `syslog+tls://127.1:${rs.port}`,
      "--checkpoint",
      checkpoint,
      "--ca",
      tls.caPath,
    ],
    { PATH: process.env.PATH ?? "", CLARIFAI_PAT: PAT, CLARIFAI_USER_ID: "tls" },
  ).exit;
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(
    /^clarifai-audit: error: --dest: syslog\+tls:\/\/127\.1:\d+: the TLS connection was refused \(ERR_TLS_CERT_ALTNAME_INVALID: .*\); nothing was sent/,
  );
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(existsSync(checkpoint)).toBe(false);
});
