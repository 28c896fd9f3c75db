/**
 * `tail --checkpoint` as a state file: locked while a tail runs (a SIGKILLed one does not block the
 * next), validated against its schema, its folder checked before the first request; and entries
 * landing further behind than the lookback counted on stderr and in the checkpoint.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { waitFor } from "../helpers/waitFor.js";
import {
  byTime,
  collect,
  connection,
  PAT,
  runCli,
  runCliWithReadOnlyFolder,
  runMain,
  spawnCli,
  tempDir,
  USER,
  waitForStderr,
} from "./helpers.js";

let emu: EmulatorHandle;
let tmp: ReturnType<typeof tempDir>;
const initial = generateEntries(50, 71);
const FROM = "2024-12-31T00:00:00Z";

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

function tailArgs(checkpoint: string, ...more: string[]): string[] {
  return ["tail", ...connection(emu.grpcAddress), "--from", FROM, "--checkpoint", checkpoint, ...more];
}

function oneErrorLine(stderr: string): void {
  expect(stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
}

it("refuses a second tail on a checkpoint at once; a SIGKILLed tail's lock does not block the next", async () => {
  const checkpoint = join(tmp.dir, "locked.json");
  const first = spawnCli(tailArgs(checkpoint, "--follow", "--interval", "50ms"));
  const firstDone = collect(first);
  await waitForStderr(first, (t) => /tail starting/.test(t));
  const second = await runCli(tailArgs(checkpoint));
  expect(second.code).toBe(2);
  oneErrorLine(second.stderr);
  expect(second.stderr).toMatch(/--checkpoint: .*locked by another process \(pid \d+/);
  expect(second.stdout).toBe("");
  // Killed only once its first poll is saved (the checkpoint is written by rename, so it exists
  // whole or not at all): killed before, the next tail rightly starts afresh instead of resuming.
  await waitFor(() => existsSync(checkpoint), { what: "the first tail's checkpoint" });
  first.kill("SIGKILL");
  await firstDone;
  const third = await runCli(tailArgs(checkpoint));
  expect(third.code).toBe(0);
  expect(third.stderr).toMatch(/^tail resuming/);
});

it("refuses a checkpoint holding null or a wrong shape with one line, and leaves it as it was", async () => {
  const cases: [string, RegExp][] = [
    ["null", /field \/ is null, expected an object/],
    ["[1]", /field \/ is an array/],
    [
      '{"kind":"clarifai-audit-tail","version":1,"query":"q","start":"2025-01-01T00:00:00Z","position":"2025-01-01T00:00:00Z","seen":{},"updatedAt":"2025-01-01T00:00:00Z"}',
      /field \/seen is an object, expected an array/,
    ],
    ['{"kind":"clarifai-audit-tail","version":2}', /field \/version is 2/],
    ['{"kind":"clarifai-audit-tail","version":1,"start":"x"}', /field \/query is missing/],
    ["{", /not valid JSON/],
  ];
  for (const [text, why] of cases) {
    const checkpoint = join(tmp.dir, "bad.json");
    writeFileSync(checkpoint, text);
    const calls = emu.calls;
    const r = await runMain(tailArgs(checkpoint));
    expect({ text, code: r.code, stdout: r.stdout }).toEqual({ text, code: 2, stdout: "" });
    oneErrorLine(r.stderr);
    expect(r.stderr).toContain(checkpoint);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/delete it to start afresh/);
    expect(readFileSync(checkpoint, "utf8")).toBe(text);
    expect(emu.calls).toBe(calls);
  }
});

it("refuses a checkpoint in a missing folder, or a folder, before the first request", async () => {
  for (const [checkpoint, why] of [
    [join(tmp.dir, "missing", "c.json"), /folder .*missing does not exist/],
    [tmp.dir, /is a directory, not a regular file/],
    [`${tmp.dir}/`, /names a folder/],
    ["", /empty path/],
  ] as const) {
    const calls = emu.calls;
    const r = await runMain(tailArgs(checkpoint));
    expect({ checkpoint, code: r.code, stdout: r.stdout }).toEqual({ checkpoint, code: 2, stdout: "" });
    oneErrorLine(r.stderr);
    expect(r.stderr).toMatch(why);
    expect(emu.calls).toBe(calls);
  }
});

it("refuses a checkpoint in a folder it cannot write, before the first request", async () => {
  const calls = emu.calls;
  const r = await runCliWithReadOnlyFolder((dir) => tailArgs(join(dir, "c.json")));
  expect(r.code).toBe(2);
  oneErrorLine(r.stderr);
  expect(r.stderr).toContain(`--checkpoint: the folder ${r.folder} is not writable`);
  expect(emu.calls).toBe(calls);
  expect(r.left).toEqual([]);
});

it("counts entries that land further behind than the lookback, on stderr and in the checkpoint", async () => {
  const log = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
  try {
    const checkpoint = join(tmp.dir, "late.json");
    const args = [
      "tail",
      ...connection(log.grpcAddress),
      "--from",
      FROM,
      "--checkpoint",
      checkpoint,
      "--lookback",
      "1m",
    ];
    const first = await runCli(args);
    expect(first.code).toBe(0);
    expect(first.stderr).not.toMatch(/landed/);
    const newest = [...initial].sort(byTime).at(-1)!.timestamp!;
    let serial = 0;
    const at = (seconds: number): AuditLogEntry => ({
      ...initial[0]!,
      timestamp: { seconds, nanos: 5000 },
      reqId: `late-${serial++}`,
    });
    // Two behind the lookback (10 min late), one inside it (30 s), one new.
    log.append([
      at(newest.seconds - 600),
      at(newest.seconds - 601),
      at(newest.seconds - 30),
      at(newest.seconds + 1),
    ]);
    const second = await runCli(args);
    expect(second.code).toBe(0);
    expect(second.stdout.split("\n").filter((l) => l)).toHaveLength(2);
    expect(second.stderr).toMatch(
      /^clarifai-audit: warning: tail: 2 entries landed more than 1m behind the newest printed entry .* \(2 so far\)/m,
    );
    const saved = JSON.parse(readFileSync(checkpoint, "utf8")) as {
      lateSkipped: number;
      printedBehind: number;
    };
    expect(saved.lateSkipped).toBe(2);
    expect(saved.printedBehind).toBeGreaterThan(0);
    const third = await runCli(args);
    expect({ code: third.code, stdout: third.stdout }).toEqual({ code: 0, stdout: "" });
    expect(third.stderr).not.toMatch(/landed/);
    log.append([at(newest.seconds - 900)]);
    const fourth = await runCli(args);
    expect(fourth.stderr).toMatch(/^clarifai-audit: warning: tail: 1 entry landed .* \(3 so far\)/m);
  } finally {
    await log.close();
  }
});
