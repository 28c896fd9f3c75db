/**
 * `clarifai-audit search` end to end: the built CLI against the emulator over loopback gRPC. Every
 * format, the filter flags, and the one-line error + exit code of each failure class.
 */

import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { CSV_COLUMNS } from "../../packages/client/src/export/formats.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, parseCsv, runCli, runMain, USER } from "./helpers.js";

const entries = generateEntries(600, 7);
const asc = [...entries].sort((a, b) =>
  a.timestamp!.seconds !== b.timestamp!.seconds
    ? a.timestamp!.seconds - b.timestamp!.seconds
    : a.timestamp!.nanos - b.timestamp!.nanos,
);
let emu: EmulatorHandle;
let conn: string[];

beforeAll(async () => {
  emu = await startEmulator({ pats: { [PAT]: USER }, entries, restPort: false });
  conn = connection(emu.grpcAddress);
});
afterAll(async () => {
  await emu.close();
});

function jsonl(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split("\n")
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("formats", () => {
  it("jsonl is the default in a pipe, newest first, one REST-form entry per line", async () => {
    const r = await runCli(["search", ...conn, "--per-page", "5"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const newest = [...asc].reverse().slice(0, 5).map(entryToJsonLine);
    expect(r.stdout).toBe(`${newest.join("\n")}\n`);
  });
  it("--asc --page walks oldest first", async () => {
    const r = await runCli(["search", ...conn, "--per-page", "4", "--page", "2", "--asc"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${asc.slice(4, 8).map(entryToJsonLine).join("\n")}\n`);
  });
  it("json is one document, also with --all over many pages", async () => {
    const r = await runCli(["search", ...conn, "--all", "--per-page", "100", "--format", "json", "--asc"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as unknown[];
    expect(doc).toHaveLength(600);
    expect(doc.map((e) => JSON.stringify(e))).toEqual(asc.map(entryToJsonLine));
    const empty = await runCli(["search", ...conn, "--format", "json", "--actor", "nobody"]);
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });
  it("csv has the fixed columns", async () => {
    const r = await runCli(["search", ...conn, "--per-page", "3", "--asc", "--format", "csv"]);
    const rows = parseCsv(r.stdout) as string[][];
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(4);
    const first = asc[0]!;
    const row = rows[1]!;
    expect(row[1]).toBe(String(first.operation));
    expect(row[3]).toBe(first.user?.id);
    expect(row[7]).toBe(first.success ? "true" : "false");
    expect(row[8]).toBe(first.reqId);
    expect(JSON.parse(row[6]!)).toEqual(first.details);
    expect(row[0]).toBe(JSON.parse(entryToJsonLine(first)).timestamp);
  });
  it("table is readable text with a heading", async () => {
    const r = await runCli(["search", ...conn, "--per-page", "2", "--format", "table"]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIMESTAMP\s+OPERATION\s+USER\s+OK\s+TARGETS\s+DESCRIPTION$/);
    expect(lines).toHaveLength(3);
  });
});

describe("filters", () => {
  it("--operation (name or code), --user, --success/--failed, --source-ip, --target, --from/--to", async () => {
    const sample = asc[100]!;
    const checks: Array<[string[], (e: (typeof asc)[number]) => boolean]> = [
      [
        ["--operation", "MODEL_CREATE", "--operation", "301"],
        (e) => e.operation === 300 || e.operation === 301,
      ],
      [["--actor", sample.user!.id], (e) => e.user?.id === sample.user!.id],
      [["--failed"], (e) => !e.success],
      [["--success"], (e) => e.success],
      [["--source-ip", sample.sourceIp], (e) => e.sourceIp === sample.sourceIp],
    ];
    for (const [flags, pred] of checks) {
      const r = await runCli(["search", ...conn, "--all", "--asc", ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        asc
          .filter(pred)
          .map((e) => `${entryToJsonLine(e)}\n`)
          .join(""),
      );
    }
    const from = JSON.parse(entryToJsonLine(asc[10]!)).timestamp as string;
    const to = JSON.parse(entryToJsonLine(asc[19]!)).timestamp as string;
    const r = await runCli(["search", ...conn, "--asc", "--from", from, "--to", to]);
    expect(jsonl(r.stdout)).toHaveLength(10);
    expect(r.stderr).toBe(`window: from ${from} to ${to} (UTC)\n`);
  });
  it("--target with and without app scope", async () => {
    const withModel = asc.find((e) => e.targets.some((t) => t.model?.appId));
    expect(withModel).toBeDefined();
    const model = withModel!.targets.find((t) => t.model)!.model!;
    const scoped = await runCli(["search", ...conn, "--all", "--target", `model=${model.appId}/${model.id}`]);
    const plain = await runCli(["search", ...conn, "--all", "--target", `model=${model.id}`]);
    const wrongApp = await runCli(["search", ...conn, "--all", "--target", `model=no-such-app/${model.id}`]);
    expect(jsonl(scoped.stdout).length).toBeGreaterThan(0);
    expect(jsonl(plain.stdout).length).toBeGreaterThanOrEqual(jsonl(scoped.stdout).length);
    expect(wrongApp.stdout).toBe("");
  });
  it("--since prints the resolved window in UTC", async () => {
    const r = await runCli(["search", ...conn, "--since", "1h"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^window: from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z to \(now\) \(UTC\)\n$/);
  });
});

describe("errors: one line, documented exit code, no stack, no PAT", () => {
  const usage: string[][] = [
    ["--per-page", "0"],
    ["--per-page", "1001"],
    ["--page", "x"],
    ["--since", "5"],
    ["--since", "1h", "--from", "2025-01-01T00:00:00Z"],
    ["--from", "2025-13-01T00:00:00Z"],
    ["--from", "2025-01-02T00:00:00Z", "--to", "2025-01-01T00:00:00Z"],
    ["--operation", "MODEL_CRATE"],
    ["--operation", "0"],
    ["--target", "model"],
    ["--target", "gizmo=x"],
    ["--target", "user=a/b"],
    ["--target", "model=a//b"],
    ["--source-ip", "300.1.1.1"],
    ["--success", "--failed"],
    ["--format", "xml"],
    ["--bogus"],
    ["--endpoint", "nope:99999"],
    ["--timeout", "0"],
  ];
  it.each(usage)("usage error %# exits 2", async (...flags) => {
    const r = await runMain(["search", ...conn, ...flags]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/^clarifai-audit: error: [^\n]+\n$/),
    });
  });
  it("an unknown command and a missing PAT exit 2", async () => {
    const unknown = await runMain(["serch"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    const noPat = await runMain(["search", ...conn], cliEnv({ CLARIFAI_PAT: "" }));
    expect(noPat.code).toBe(2);
    expect(noPat.stderr).toMatch(/^clarifai-audit: error: .*CLARIFAI_PAT.*\n$/);
  });
  it("--insecure to a remote host is refused before any network call", async () => {
    const r = await runMain(["search", "--endpoint", "api.clarifai.com:443", "--insecure"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/plaintext/);
  });
  it("authentication failure exits 3 with the req_id and without the PAT", async () => {
    const secret = "not-the-right-pat-abcdef123456";
    const r = await runCli(["search", ...conn], cliEnv({ CLARIFAI_PAT: secret }));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^clarifai-audit: error: .*req_id=[0-9a-f]+.*\n$/);
    expect(r.stderr).not.toContain(secret);
  });
  it("a PAT with surrounding whitespace is redacted where an error echoes it; a blank one is no PAT", async () => {
    // grpc-js refuses the non-ASCII header value and quotes it in its error.
    const secret = "pat-\u00e9-0123456789abcdef";
    const r = await runCli(["search", ...conn], cliEnv({ CLARIFAI_PAT: `${secret}\n` }));
    expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
    expect(r.stderr).not.toContain(secret);
    const blank = await runCli(["search", ...conn], cliEnv({ CLARIFAI_PAT: " " }));
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(
      /^clarifai-audit: error: no Personal Access Token: set CLARIFAI_PAT[^\n]*\n$/,
    );
    expect(blank.stderr).not.toContain("[REDACTED]");
  });
  it("rate limit with retries exhausted exits 4; UNAVAILABLE exhausted exits 1", async () => {
    emu.setFaults({ throttleEvery: 1 });
    const throttled = await runCli(["search", ...conn, "--max-attempts", "2"]);
    emu.resetFaults();
    expect(throttled.code).toBe(4);
    expect(throttled.stderr).toMatch(/^clarifai-audit: error: .*11005.*after 2 attempts.*\n$/);
    emu.setFaults({ unavailableEvery: 1 });
    const down = await runCli(["search", ...conn, "--max-attempts", "2"]);
    emu.resetFaults();
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
  });
  it("--help exits 0", async () => {
    const r = await runMain(["search", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--operation <op>/);
  });
});
