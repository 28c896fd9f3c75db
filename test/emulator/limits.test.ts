/**
 * The emulator's limits and start-up errors (one line each, exit 2, naming the flag or file); the
 * client's hints for TLS to a plaintext server and plaintext to a TLS one (one line, exit 1);
 * `--data` streamed through the fast path gives exactly the entries of the strict reference parse.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "../../packages/cli/src/cli/emulatorCommand.js";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import {
  auditLogEntryFromJson,
  entryToJsonLine,
  type JsonValue,
} from "../../packages/client/src/codec/index.js";
import { streamEntriesFile } from "../../packages/emulator/src/dataFile.js";
import { generateEntries, startEmulator, validateFaults } from "../../packages/emulator/src/index.js";
import { KNOB_LIMITS, MAX_GENERATE } from "../../packages/emulator/src/options.js";
import { AuditLog } from "../../packages/emulator/src/store.js";
import { PAT, runCli, tempDir, USER } from "../cli/helpers.js";
import { makeTestTls } from "../helpers/tls.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

it("refuses out-of-range knobs, a PAT the client would refuse, a bad PEM and a busy port in one line", async () => {
  const bad = join(tmp.dir, "bad.pem");
  writeFileSync(bad, "not a certificate\n");
  const busy = await startEmulator({ restPort: false });
  const port = busy.grpcAddress.split(":").at(-1) as string;
  try {
    const cases: [string[], RegExp][] = [
      [["--latency-ms", String(2 ** 31 + 5)], /--latency-ms must be a number between 0 and 600000/],
      [["--jitter-ms", "1e12"], /--jitter-ms/],
      [["--generate", "5000001"], /--generate must be an integer between 0 and 5000000/],
      [["--growth-every-ms", "3000000000", "--growth-count", "1"], /--growth-every-ms/],
      [["--pat", "ü=u"], /printable ASCII/],
      [["--tls-cert", bad, "--tls-key", bad], new RegExp(`--tls-cert ${bad}: not a PEM certificate`)],
      [["--port", port], new RegExp(`--port ${port}: 127\\.0\\.0\\.1:${port} is already in use`)],
    ];
    for (const [args, want] of cases) {
      const r = await runCli(["emulator", ...args]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(r.stderr).toMatch(/^[^\n]+\n$/);
      expect(r.stderr).toMatch(want);
    }
  } finally {
    await busy.close();
  }
  expect(() => validateFaults({ latencyMs: 2 ** 31 })).toThrow(/from 0 to 600000/);
  await expect(startEmulator({ pats: { ü: "u" } })).rejects.toThrow(/printable ASCII/);
});

it("declares the same ranges in the command as in the options", () => {
  expect([
    command.GENERATE_MAX,
    command.DELAY_MAX,
    command.COUNT_MAX,
    command.GROWTH_COUNT_MAX,
    command.GROWTH_EVERY_MAX,
  ]).toEqual([
    MAX_GENERATE,
    KNOB_LIMITS.delayMs,
    KNOB_LIMITS.count,
    KNOB_LIMITS.growthCount,
    KNOB_LIMITS.growthEveryMs,
  ]);
});

it("says a plaintext server does not speak TLS, naming --insecure, in one line", async () => {
  const emu = await startEmulator({ pats: { [PAT]: USER }, restPort: false });
  try {
    const r = await runCli(["search", "--endpoint", emu.grpcAddress]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
    expect(r.stderr).toMatch(/does not speak TLS.*--insecure/);
    expect(r.stderr).not.toMatch(/DEP0123|ssl3_get_record|after \d+ attempts/);
  } finally {
    await emu.close();
  }
});

it("says a TLS server was reached with --insecure, in one line", async () => {
  const tls = makeTestTls();
  const emu = await startEmulator({
    pats: { [PAT]: USER },
    restPort: false,
    tls: { cert: tls.cert, key: tls.key },
  });
  try {
    const r = await runCli(["search", "--endpoint", emu.grpcAddress, "--insecure", "--max-attempts", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
    expect(r.stderr).toMatch(/closed the plaintext connection.*if it serves TLS.*connect without --insecure/);
  } finally {
    await emu.close();
    rmSync(tls.dir, { recursive: true, force: true });
  }
});

it("streams a data file to exactly the entries of the strict parse, and names a bad line", async () => {
  const entries = generateEntries(600, 91);
  const lines = entries.map(entryToJsonLine);
  // One line in another spelling (camelCase keys, an enum by name) takes the reference path.
  const odd = JSON.parse(lines[5] as string) as Record<string, unknown>;
  odd.reqId = odd.req_id;
  delete odd.req_id;
  lines[5] = JSON.stringify(odd);
  const file = join(tmp.dir, "data.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n\n`);
  const log = new AuditLog();
  const n = await streamEntriesFile(file, log, 64);
  expect(n).toBe(600);
  const want = lines.map((l) => auditLogEntryFromJson(JSON.parse(l) as JsonValue));
  expect(Array.from({ length: log.size }, (_, id) => log.entry(id))).toEqual(want);
  for (let id = 0; id < 600; id++)
    expect(log.bytesOf(id)).toEqual(Buffer.from(AuditLogEntry.encode(want[id] as AuditLogEntry).finish()));
  writeFileSync(file, `${lines[0]}\n{"timestamp":"2025-02-30T00:00:00Z"}\n`);
  await expect(streamEntriesFile(file, new AuditLog())).rejects.toThrow(`${file}:2: not an AuditLogEntry`);
});
