/**
 * The syslog destination (packages/cli/src/sync/syslog/) against a real rsyslogd on loopback
 * (test/helpers/rsyslog.ts), fed by runSync from the emulator: every entry delivered as one RFC 5424
 * message, octet-counted, whose every field rsyslog parses and this test parses back (PRI, timestamp,
 * host, app, procid, MSGID, structured data, the entry's JSON as MSG); structured-data escaping
 * round-trips hostile text (quotes, `]`, `\`, newlines, control characters, UTF-8); a message larger
 * than `max_message` is sent whole and says its size; rsyslog restarted between two commits of a run
 * loses nothing (the closed connection is noticed before the next batch, reconnect, every entry at
 * least once, repeats within one commit); the URL and
 * option refusals. TLS: syslogTls.test.ts; SIGKILL: syslogCrash.test.ts.
 */
import { execFileSync } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import type { SyncStore } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { createSyslogStore } from "../../packages/cli/src/sync/syslog/store.js";
import { parseSyslogUrl } from "../../packages/cli/src/sync/syslog/url.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { operationName } from "../../packages/client/src/domain/operations.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { parseSyslog, type Rsyslog, startRsyslog } from "../helpers/rsyslog.js";
import { waitFor } from "../helpers/waitFor.js";
import { linesOf } from "../sync/syncHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let rs: Rsyslog;
const USERS = ["fields", "restart", "midsend"];
const pat = (u: string) => `syslog-pat-${u}-0123456789abcdef`;

beforeAll(async () => {
  tmp = tempDir();
  [emu, rs] = await Promise.all([
    startEmulator({ pats: Object.fromEntries(USERS.map((u) => [pat(u), u])), entries: [], restPort: false }),
    startRsyslog(),
  ]);
}, 60_000);

afterAll(async () => {
  await emu?.close();
  await rs?.close();
  tmp?.cleanup();
});

let seed = 700;
/** `n` entries evenly over the `spanMs` ending `endsAgoMs` before now, a distinct microsecond each. */
function recent(n: number, spanMs: number, endsAgoMs: number): AuditLogEntry[] {
  const end = Date.now() - endsAgoMs;
  return generateEntries(n, ++seed).map((e, i) => {
    const us = Math.floor((end - spanMs + (spanMs * i) / Math.max(1, n - 1)) * 1000) + i;
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 + 7 } };
  });
}

const clientOf = (u: string) =>
  new AuditLogClient({ pat: pat(u), userId: u, endpoint: emu.grpcAddress, insecure: true });

/** Records of `account` at rsyslog, parsed. */
const parsedOf = (account: string) =>
  rs
    .records()
    .map((r) => ({ r, p: parseSyslog(r.raw) }))
    .filter(({ p }) => p.sd.get("clarifai@32473")?.get("account") === account);

const HOSTILE = [
  'quote " end',
  "bracket ] and \\] and [x]",
  "back\\slash\\\\",
  "new\nline\r\n",
  "ctrl \u0001\u0007\u001b\u007f",
  "utf-8 ünïcødé 日本語 🎉",
  '"]\\',
];

it("delivers every entry as an RFC 5424 message whose fields parse back, hostile text round-tripping the structured data", async () => {
  const client = clientOf("fields");
  const account = 'acct "]\\ ü';
  const entries = recent(HOSTILE.length * 3, 5_000, 1_000).map((e, i) => ({
    ...e,
    reqId: `${HOSTILE[i % HOSTILE.length]}#${i}`,
    success: i % 2 === 0,
    // One entry larger than rsyslog's default 8 KiB and the URL's max_message.
    ...(i === 3 ? { details: ["x".repeat(20_000), HOSTILE.join("|")] } : {}),
  }));
  emu.append(entries, "fields");
  const target = parseSyslogUrl(`syslog://127.0.0.1:${rs.port}?facility=authpriv&max_message=8192`);
  const store = await createSyslogStore(target, {
    env: {},
    format: "json",
    statePath: join(tmp.dir, "fields.json"),
    account,
    commitEntries: 5,
  });
  try {
    const summary = await runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: 60_000,
      perPage: 4,
      commitIntervalMs: 0,
    });
    expect(summary.inserted).toBe(entries.length);
  } finally {
    client.close();
  }
  await rs.waitForRecords(entries.length);
  const got = parsedOf(account);
  const lines = linesOf(entries);
  expect(got).toHaveLength(entries.length);
  const byId = new Map(got.map((g) => [g.p.sd.get("clarifai@32473")?.get("id"), g]));
  for (const [i, e] of entries.entries()) {
    const line = lines[i] as string;
    const g = byId.get(lineKey(line));
    if (g === undefined) throw new Error(`entry ${i} not delivered`);
    const { r, p } = g;
    // authpriv (10) × 8 + notice (5) or warning (4).
    expect(p.pri).toBe(10 * 8 + (e.success ? 5 : 4));
    expect(p.version).toBe(1);
    const ts = e.timestamp as { seconds: number; nanos: number };
    const iso = new Date(ts.seconds * 1000).toISOString().slice(0, 19);
    const nanos = String(ts.nanos).padStart(9, "0");
    expect(p.timestamp).toBe(`${iso}.${nanos.slice(0, 6)}Z`);
    expect(p.hostname).toBe(hostname());
    expect(p.app).toBe("clarifai-audit");
    expect(p.procid).toBe(String(process.pid));
    const op = operationName(e.operation);
    expect(p.msgid).toBe(op.length > 32 ? op.replace("ORGANIZATION_", "ORG_") : op);
    const sd = p.sd.get("clarifai@32473");
    expect(sd?.get("account")).toBe(account);
    expect(sd?.get("req_id")).toBe(e.reqId);
    expect(sd?.get("ts")).toBe(`${iso}.${nanos}Z`);
    expect(sd?.has("msg_bytes")).toBe(i === 3);
    if (i === 3) expect(sd?.get("msg_bytes")).toBe(String(Buffer.byteLength(line)));
    expect(p.msg).toBe(line);
    // rsyslog's own parse agrees.
    expect([r.pri, r.app, r.procid, r.msgid, r.msg]).toEqual([String(p.pri), p.app, p.procid, p.msgid, line]);
    expect(r.sd).toBe(p.sd.size === 1 ? r.raw.slice(r.raw.indexOf("["), r.raw.length - line.length - 1) : "");
  }
});

it("survives rsyslog restarts between two commits of a run: reconnects, every entry at least once, repeats within one commit", async () => {
  const client = clientOf("restart");
  const entries = recent(400, 20_000, 1_000);
  emu.append(entries, "restart");
  // confirm=write: one connection for the run, which must notice the restart before its next batch.
  const target = parseSyslogUrl(`syslog://127.0.0.1:${rs.port}?confirm=write`);
  const inner = await createSyslogStore(target, {
    env: {},
    format: "json",
    statePath: join(tmp.dir, "restart.json"),
    account: "restart",
    commitEntries: 40,
  });
  let commits = 0;
  let restarts = 0;
  // Restarts rsyslog before the 3rd and the 6th commit, while the connection sits idle (the old
  // one then sees the receiver close it before its next batch).
  const store: SyncStore = {
    ...inner,
    description: inner.description,
    open: (identity) => inner.open(identity),
    close: () => inner.close(),
    async commit(c) {
      commits++;
      if (commits === 3 || commits === 6) {
        await rs.stop();
        await rs.start();
        restarts++;
      }
      return inner.commit(c);
    },
  };
  try {
    const summary = await runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: 60_000,
      perPage: 20,
      commitIntervalMs: 0,
    });
    expect(summary.inserted).toBe(entries.length);
  } finally {
    client.close();
  }
  expect(restarts).toBe(2);
  const want = linesOf(entries).map(lineKey);
  await waitFor(
    () =>
      new Set(parsedOf("restart").map((g) => g.p.sd.get("clarifai@32473")?.get("id"))).size >= want.length,
    {
      what: "every entry at rsyslog",
    },
  );
  const ids = parsedOf("restart").map((g) => g.p.sd.get("clarifai@32473")?.get("id") as string);
  expect(new Set(ids)).toEqual(new Set(want));
  // Each restart may repeat at most one commit (40 entries + a page − 1).
  expect(ids.length - want.length).toBeLessThanOrEqual(2 * (40 + 20 - 1));
});

/** Bytes in flight to rsyslog on `port`: its connections' Recv-Q and the senders' Send-Q. */
function inFlight(port: number): number {
  const out = execFileSync("ss", ["-tnH"], { encoding: "utf8" });
  let sum = 0;
  for (const line of out.split("\n")) {
    const [, recvQ, sendQ, local, peer] = line.trim().split(/\s+/);
    if (local?.endsWith(`:${port}`)) sum += Number(recvQ);
    if (peer?.endsWith(`:${port}`)) sum += Number(sendQ);
  }
  return sum;
}

it("confirms a batch only once rsyslog read it: frozen, then killed with a batch unread, it gets the batch again", async () => {
  const client = clientOf("midsend");
  // Batches of ~1 MB, which the socket buffers hold: written, but not read while rsyslog is frozen.
  const entries = recent(600, 10_000, 1_000).map((e, i) => ({ ...e, details: [`${i}`.padEnd(3_000, "d")] }));
  emu.append(entries, "midsend");
  const store = await createSyslogStore(parseSyslogUrl(`syslog://127.0.0.1:${rs.port}`), {
    env: {},
    format: "json",
    statePath: join(tmp.dir, "midsend.json"),
    account: "midsend",
    commitEntries: 300,
  });
  await rs.signal("SIGSTOP");
  const run = runSync({ client, store, settleMs: 0, reconcileMs: 60_000, perPage: 20, commitIntervalMs: 0 });
  try {
    // A batch is in the buffers, and the send waits for rsyslog to read it (its close after ours).
    let last = -1;
    await waitFor(
      () => {
        const now = inFlight(rs.port);
        const full = now > 10_000 && now === last;
        last = now;
        return full;
      },
      { what: "the buffers to rsyslog full", intervalMs: 200 },
    );
    // Killed with the batch unread: not confirmed, so sent again.
    await rs.signal("SIGKILL");
    await rs.start();
    expect((await run).inserted).toBe(600);
  } finally {
    await rs.signal("SIGCONT");
    await run.catch(() => undefined);
    client.close();
  }
  const want = new Set(linesOf(entries).map(lineKey));
  const ids = () => parsedOf("midsend").map((g) => g.p.sd.get("clarifai@32473")?.get("id") as string);
  await waitFor(() => new Set(ids()).size >= want.size, { what: "every entry at rsyslog", intervalMs: 200 });
  expect(new Set(ids())).toEqual(want);
  expect(ids().length - want.size).toBeLessThanOrEqual(300 + 20 - 1);
}, 60_000);

it("refuses bad URLs and options in one line, before connecting", async () => {
  const bad = (text: string) => () => parseSyslogUrl(text);
  expect(bad("syslog://")).toThrow(/is not a syslog URL/);
  expect(bad("syslog://user:secret@host:514")).toThrow(/takes no user name or password/);
  expect(bad("syslog://user:secret@host:514")).not.toThrow(/secret/);
  expect(bad("syslog://host:70000")).toThrow(/port 70000 is out of range/);
  expect(bad("syslog://host?facility=nope")).toThrow(/facility "nope" is not a syslog facility/);
  expect(bad("syslog://host?max_message=10")).toThrow(/max_message "10" is not a size/);
  expect(bad("syslog://host?colour=red")).toThrow(/unknown parameter "colour"/);
  expect(bad("syslog://host?confirm=never")).toThrow(/confirm "never" is not a mode/);
  expect(parseSyslogUrl("syslog://host?confirm=write").confirm).toBe("write");
  expect(parseSyslogUrl("syslog+tls://Example.COM")).toMatchObject({
    host: "Example.COM",
    port: 6514,
    tls: true,
    description: "syslog+tls://example.com:6514",
    facility: 16,
    maxMessage: 8192,
    confirm: "close",
  });
  expect(parseSyslogUrl("syslog://[::1]:1514?facility=13")).toMatchObject({
    host: "::1",
    port: 1514,
    facility: 13,
  });
  const target = parseSyslogUrl(`syslog://127.0.0.1:${rs.port}`);
  await expect(createSyslogStore(target, { env: {}, format: "json" })).rejects.toThrow(
    /^`statePath`: syslog:\/\/127\.0\.0\.1:\d+ needs a local state file/,
  );
  await expect(
    createSyslogStore(target, {
      env: {},
      format: "json",
      statePath: join(tmp.dir, "x.json"),
      ca: "/nonexistent",
    }),
  ).rejects.toThrow(/^`ca`: .*plain TCP/);
});
