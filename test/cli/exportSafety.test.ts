/**
 * Hardening of `export` (issue 11): one export per file (a lock, taken over from a killed owner), no
 * silent narrowing of the window (entries without a timestamp or before 1970), and state files
 * checked before the first request (a corrupt manifest, an empty --out, a folder it cannot write).
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { waitFor } from "../helpers/waitFor.js";
import {
  collect,
  connection,
  fileLines,
  PAT,
  runCli,
  runCliWithReadOnlyFolder,
  runMain,
  spawnCli,
  tempDir,
  USER,
} from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
const base = generateEntries(40, 5);
const undated = AuditLogEntry.fromPartial({ ...base[0], timestamp: undefined, reqId: "undated" });
const old = AuditLogEntry.fromPartial({
  ...base[1],
  timestamp: { seconds: -86_400 * 365, nanos: 5 },
  reqId: "1969",
});

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: [...base, undated, old], restPort: false });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

const args = (out: string, extra: string[] = []) => [
  "export",
  ...connection(emu.grpcAddress),
  "--out",
  out,
  "--settle",
  "0",
  "--per-page",
  "5",
  "--quiet",
  ...extra,
];

it("exports an entry without a timestamp and one dated before 1970 when no --from is given", async () => {
  const out = join(tmp.dir, "all.jsonl");
  // --quiet --json: stderr is the summary's object alone.
  const r = await runCli(args(out, ["--json"]));
  expect(JSON.parse(r.stderr)).toMatchObject({ command: "export", entries: 42 });
  expect(r.code).toBe(0);
  const reqIds = fileLines(out).map((l) => (JSON.parse(l) as { req_id?: string }).req_id);
  expect(reqIds.slice(0, 2)).toEqual(["1969", "undated"]);
  expect(reqIds).toHaveLength(42);
});

it("a second export of the same file is refused at once, even with --resume or --force; a killed owner's lock is taken over", async () => {
  const out = join(tmp.dir, "locked.jsonl");
  emu.setFaults({ latencyMs: 1500 });
  try {
    const first = spawnCli(args(out, ["--commit-interval", "0"]));
    const done = collect(first);
    await waitFor(() => existsSync(`${out}.manifest.json`) || first.exitCode !== null, {
      what: "the first export's manifest",
    });
    for (const flag of ["--resume", "--force"]) {
      const second = await runCli(args(out, [flag]));
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/^clarifai-audit: error: another export holds .*locked\.jsonl/);
      expect(second.stderr.trim().split("\n")).toHaveLength(1);
    }
    first.kill("SIGKILL");
    await done;
  } finally {
    emu.resetFaults();
  }
  expect(existsSync(`${out}.lock`)).toBe(true);
  const resumed = await runCli(args(out, ["--resume", "--json"]));
  expect(JSON.parse(resumed.stderr)).toMatchObject({ entries: 42, resumed: true });
  expect(resumed.code).toBe(0);
  expect(fileLines(out)).toHaveLength(42);
  expect(existsSync(`${out}.lock`)).toBe(false);
});

it("a corrupt manifest is one line naming the file and --force, and does not block --force", async () => {
  const out = join(tmp.dir, "corrupt.jsonl");
  writeFileSync(`${out}.manifest.json`, '{"kind":"clarifai-audit-export","version":1,"committed":null}');
  for (const flag of [[], ["--resume"]]) {
    const r = await runMain(args(out, flag));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^clarifai-audit: error: cannot use .*corrupt\.jsonl\.manifest\.json: .*pass --force/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  }
  const forced = await runCli(args(out, ["--force"]));
  expect(forced.code).toBe(0);
  expect(fileLines(out)).toHaveLength(42);
  expect(readdirSync(tmp.dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
});

it("--out '' is refused before any request", async () => {
  const calls = emu.calls;
  const r = await runCli(args(""), undefined, tmp.dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^clarifai-audit: error: --out: the file name is empty/);
  expect(emu.calls).toBe(calls);
});

it("--out in a folder the user cannot write is refused before any request", async () => {
  const calls = emu.calls;
  const r = await runCliWithReadOnlyFolder((dir) => args(join(dir, "x.jsonl")));
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^clarifai-audit: error: --out: [^\n]*\n$/);
  expect(r.stderr).toContain(r.folder);
  expect(emu.calls).toBe(calls);
  expect(r.left).toEqual([]);
});
