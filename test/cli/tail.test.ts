/**
 * `clarifai-audit tail` against the emulator: new entries (equal timestamps and late arrivals inside
 * the lookback included) are printed exactly once across runs and restarts that share a checkpoint,
 * with and without --follow.
 */
import { join } from "node:path";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { waitFor } from "../helpers/waitFor.js";
import {
  byTime,
  collect,
  connection,
  PAT,
  runCli,
  runMain,
  spawnCli,
  tempDir,
  USER,
  waitForStderr,
} from "./helpers.js";

let emu: EmulatorHandle;
let tmp: ReturnType<typeof tempDir>;
const initial = generateEntries(400, 51);
let newest = initial.reduce((m, e) => (byTime(e, m) > 0 ? e : m));
let serial = 0;

function sortedLines(entries: AuditLogEntry[]): string[] {
  return [...entries].sort(byTime).map(entryToJsonLine);
}
function lines(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l);
}
/** A fresh entry at `seconds`/`nanos` (distinct req_id). */
function at(template: AuditLogEntry, seconds: number, nanos: number): AuditLogEntry {
  serial++;
  return { ...template, timestamp: { seconds, nanos }, reqId: `tail-test-${serial}` };
}
/** `n` entries after the newest so far, one with the newest's exact timestamp, one 30 s behind it. */
function batch(n: number, seed: number): AuditLogEntry[] {
  const t = newest.timestamp!;
  const after = generateEntries(n, seed, { startSeconds: t.seconds + 5 });
  const tie = at(newest, t.seconds, t.nanos);
  const late = at(newest, t.seconds - 30, 123_456_000);
  const all = [tie, late, ...after];
  newest = after.reduce((m, e) => (byTime(e, m) > 0 ? e : m), newest);
  return all;
}

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

it("prints every new entry exactly once across runs and a --follow restart", async () => {
  const checkpoint = join(tmp.dir, "tail.checkpoint.json");
  const args = [
    "tail",
    ...connection(emu.grpcAddress),
    "--from",
    "2024-12-31T00:00:00Z",
    "--checkpoint",
    checkpoint,
    "--per-page",
    "64",
  ];
  const printed: string[] = [];

  const first = await runCli(args);
  expect(first.code).toBe(0);
  expect(lines(first.stdout)).toEqual(sortedLines(initial));
  printed.push(...lines(first.stdout));

  const second = batch(20, 52);
  emu.append(second);
  const r2 = await runCli(args);
  expect(r2.code).toBe(0);
  expect(lines(r2.stdout).sort()).toEqual(second.map(entryToJsonLine).sort());
  printed.push(...lines(r2.stdout));

  // --follow: entries appended while it runs appear once; SIGTERM ends it cleanly.
  const child = spawnCli([...args, "--follow", "--interval", "100ms"]);
  const done = collect(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer | string) => {
    out += d.toString();
  });
  await waitForStderr(child, (t) => /tail resuming/.test(t));
  const third = batch(15, 53);
  emu.append(third);
  await until(() => lines(out).length >= third.length);
  const fourth = batch(5, 54);
  emu.append(fourth);
  await until(() => lines(out).length >= third.length + fourth.length);
  child.kill("SIGTERM");
  const r3 = await done;
  expect(r3.code).toBe(0);
  expect(lines(r3.stdout).sort()).toEqual([...third, ...fourth].map(entryToJsonLine).sort());
  printed.push(...lines(r3.stdout));

  const fifth = batch(10, 55);
  emu.append(fifth);
  const r4 = await runCli(args);
  expect(lines(r4.stdout).sort()).toEqual(fifth.map(entryToJsonLine).sort());
  printed.push(...lines(r4.stdout));

  const r5 = await runCli(args);
  expect(r5.stdout).toBe("");

  const everything = [...initial, ...second, ...third, ...fourth, ...fifth].map(entryToJsonLine);
  expect(printed.sort()).toEqual(everything.sort());
});

it("repeats nothing when entries land behind a poll that spans more than the lookback", async () => {
  // Every served page gets entries inserted before all others, so each next page starts a few
  // entries earlier than where the previous one ended: those already printed come back.
  const base = generateEntries(240, 58);
  const oldest = [...base].sort(byTime)[0]!;
  const grow = await startEmulator({
    pats: { [PAT]: USER },
    entries: base,
    restPort: false,
    faults: { latencyMs: 40 },
  });
  const inserted: AuditLogEntry[] = [];
  let served = 0;
  const timer = setInterval(() => {
    if (grow.calls === served) return;
    served = grow.calls;
    const front = [1, 2, 3].map((i) => at(oldest, oldest.timestamp!.seconds - 3600, i));
    inserted.push(...front);
    grow.append(front);
  }, 1);
  try {
    const r = await runCli([
      "tail",
      ...connection(grow.grpcAddress),
      "--from",
      "2024-12-31T00:00:00Z",
      "--lookback",
      "1ms",
      "--per-page",
      "10",
      "--quiet",
    ]);
    expect(r.code).toBe(0);
    // The entries inserted behind the lookback are not printed, but they are counted (tailLate.ts).
    const notes = lines(r.stderr);
    expect(
      notes.filter(
        (l) => !/^clarifai-audit: warning: tail: \d+ entr(y|ies) landed more than 1ms behind/.test(l),
      ),
    ).toEqual([]);
    expect(notes.length).toBeGreaterThan(0);
    const out = lines(r.stdout);
    expect(inserted.length).toBeGreaterThan(30);
    expect(out.length - new Set(out).size).toBe(0);
    const known = new Set([...base, ...inserted].map(entryToJsonLine));
    expect(out.filter((l) => !known.has(l))).toEqual([]);
    const printed = new Set(out);
    expect(base.map(entryToJsonLine).filter((l) => !printed.has(l))).toEqual([]);
  } finally {
    clearInterval(timer);
    await grow.close();
  }
});

it("refuses a checkpoint written for another query, and bad flags, with exit 2", async () => {
  const checkpoint = join(tmp.dir, "other.checkpoint.json");
  const base = ["tail", ...connection(emu.grpcAddress), "--since", "1h", "--checkpoint", checkpoint];
  expect((await runCli(base)).code).toBe(0);
  const other = await runMain([...base, "--operation", "MODEL_CREATE"]);
  expect(other.code).toBe(2);
  expect(other.stderr).toBe(
    `clarifai-audit: error: --checkpoint: ${checkpoint} holds the log of user ${USER} at ${emu.grpcAddress} with no --operation; this tail asks for --operation MODEL_CREATE (the other fields match); use the same flags, or another --checkpoint\n`,
  );
  // The same filters against another log (another emulator) would skip its entries silently.
  const elsewhere = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
  try {
    const args = ["tail", ...connection(elsewhere.grpcAddress), "--since", "1h", "--checkpoint", checkpoint];
    const moved = await runMain(args);
    expect(moved.code).toBe(2);
    expect(moved.stderr).toBe(
      `clarifai-audit: error: --checkpoint: ${checkpoint} holds the log of user ${USER} at ${emu.grpcAddress}; this tail asks for --endpoint ${elsewhere.grpcAddress} (the other fields match); use the same flags, or another --checkpoint\n`,
    );
  } finally {
    await elsewhere.close();
  }
  for (const bad of [
    ["--interval", "soon"],
    ["--to", "2025-01-01T00:00:00Z"],
    ["--follow", "--format", "json"],
  ]) {
    const r = await runMain([...base, ...bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
  }
});

it("formats: csv and table work for tail; json is one document without --follow", async () => {
  const base = ["tail", ...connection(emu.grpcAddress), "--from", "2024-12-31T00:00:00Z", "--quiet"];
  const json = await runCli([...base, "--format", "json"]);
  expect((JSON.parse(json.stdout) as unknown[]).length).toBe(emu.size());
  const csv = await runCli([...base, "--format", "csv"]);
  expect(lines(csv.stdout)[0]).toBe(
    "timestamp,operation,operation_name,user_id,description,targets,details,success,req_id,source_ip",
  );
  const table = await runCli([...base, "--format", "table"]);
  expect(lines(table.stdout)).toHaveLength(emu.size() + 1);
  expect(table.stderr).toBe("");
});

function until(pred: () => boolean): Promise<void> {
  return waitFor(pred, { what: "tail output" });
}
