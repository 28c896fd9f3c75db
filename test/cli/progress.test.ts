/**
 * The progress line of export, sync, a live report and rules test, in-process with a stderr that
 * says it is a terminal: a bar with % and ETA where the size is estimated (a window the probes found
 * the ends of; the share of a file read), counts and rate where it is not (all entries at one
 * instant give the probes no span); stopped before the summary line; nothing drawn on a stderr that
 * is not a terminal, or with --quiet.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { main } from "../../packages/cli/src/cli/cli.js";
import { progressLine } from "../../packages/cli/src/cli/progress.js";
import { generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, type GeneratedEmulator, PAT, startGeneratedEmulator, USER } from "./helpers.js";

const ESC = "\u001b[";
/** The escape character, spelled so that the patterns below carry no control character themselves. */
const E = String.fromCharCode(27);

/** A stream that keeps what is written to it; `isTTY` as given (a terminal 120 columns wide). */
function screen(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: string } {
  const s = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      s.text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number; text: string };
  Object.assign(s, { isTTY, columns: 120, text: "" });
  return s;
}

/** Runs the CLI in-process with stderr (and stdout, when asked) on a (fake) terminal or not. */
async function run(
  args: string[],
  tty = true,
  stdoutTty = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = screen(stdoutTty);
  const stderr = screen(tty);
  const code = await main(args, cliEnv(), { stdin: new PassThrough(), stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** What the screen shows: the drawn lines without their escape sequences. */
const shown = (text: string) =>
  text
    // A redraw goes back to the line's start (CSI G, or a carriage return): a line of its own here.
    .replace(new RegExp(`${E}\\[\\d*G|\r`, "g"), "\n")
    .replace(new RegExp(`${E}(\\[[0-9;?]*[A-Za-z]|[78])`, "g"), "")
    .split("\n")
    .filter((l) => l.trim() !== "");

let generated: GeneratedEmulator;
beforeAll(async () => {
  generated = await startGeneratedEmulator(1_000, 41);
});
afterAll(() => generated.close());

const exportArgs = (out: string, extra: string[] = []) => [
  "export",
  ...generated.conn,
  "--out",
  out,
  "--per-page",
  "50",
  "--concurrency",
  "2",
  ...extra,
];

it("export: a bar with % and ETA of the estimated size, stopped before the summary line", async () => {
  const r = await run(exportArgs(join(generated.tmp.dir, "est.jsonl")));
  expect(r.code).toBe(0);
  const lines = shown(r.stderr);
  // Drawn while the walk went on: some line short of the end, with an ETA and an estimated total.
  expect(
    lines.some((l) =>
      /^\S+ \d{1,2}% \| ETA (…|\d\S*) \| \d+ of ~\d+ entries \| \d+ entries\/s \| \d+ pages \| retries 0 \| shifted 0$/.test(
        l,
      ),
    ),
  ).toBe(true);
  // The last drawn line is the complete walk, then the summary on a line of its own.
  expect(lines.at(-2)).toMatch(
    /^\S+ 100% \| ETA 0s \| 1000 of ~1000 entries \| \d+ entries\/s \| \d+ pages \| retries 0 \| shifted 0$/,
  );
  expect(lines.at(-1)).toMatch(/^exported 1000 entries in \d+ pages to /);
  expect(lines[0]).toMatch(/^exporting window from \S+ to \S+ \(UTC, oldest first\)$/);
  expect(r.stdout).toBe("");
});

it("export: counts and rate when the probes give no span (every entry at one instant)", async () => {
  const emu = await startEmulator({ pats: { [PAT]: USER }, restPort: false });
  try {
    emu.append(
      generateEntries(400, 5).map((e) => ({ ...e, timestamp: { seconds: 1_735_689_600, nanos: 0 } })),
    );
    const r = await run([
      "export",
      ...connection(emu.grpcAddress),
      "--out",
      join(generated.tmp.dir, "one.jsonl"),
      "--per-page",
      "100",
    ]);
    expect(r.code).toBe(0);
    const lines = shown(r.stderr);
    expect(lines.at(-2)).toMatch(
      /^400 entries \| \d+ entries\/s \| [\d.]+ s \| \d+ pages \| retries 0 \| shifted 0$/,
    );
    expect(r.stderr).not.toMatch(/%|ETA/);
  } finally {
    await emu.close();
  }
});

it("draws nothing on a stderr that is not a terminal, or with --quiet", async () => {
  const piped = await run(exportArgs(join(generated.tmp.dir, "pipe.jsonl")), false);
  const quiet = await run(exportArgs(join(generated.tmp.dir, "quiet.jsonl"), ["--quiet"]));
  expect([piped.code, quiet.code]).toEqual([0, 0]);
  expect(piped.stderr).not.toContain(ESC);
  expect(piped.stderr).toMatch(/^exporting window from [^\n]+\nexported 1000 entries in \d+ pages[^\n]*\n$/);
  // -q leaves only errors and warnings on stderr (docs/vocabulary.md).
  expect(quiet.stderr).toBe("");
});

it("export --out - to a terminal draws no bar over the data on that terminal", async () => {
  const r = await run(exportArgs("-", ["--format", "csv"]), true, true);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain(ESC);
  expect(r.stdout.split("\n")).toHaveLength(1 + 1000 + 1);
});

it("sync, a live report and rules test draw the same line with % and ETA", async () => {
  const dir = generated.tmp.dir;
  const input = join(dir, "est.jsonl");
  const [sync, report, rules] = await Promise.all([
    run(["sync", ...generated.conn, "--dest", join(dir, "lake"), "--per-page", "100", "--settle", "0"]),
    run(["report", ...generated.conn, "--out", join(dir, "live.html"), "--per-page", "100"]),
    run(["rules", "test", "--rules", "builtin", "--input", input]),
  ]);
  expect([sync.code, report.code, rules.code]).toEqual([0, 0, 0]);
  expect(shown(sync.stderr).at(-2)).toMatch(/ 100% \| ETA 0s \| 1000 of ~1000 entries \| /);
  expect(shown(sync.stderr).at(-1)).toMatch(/^synced 1000 new entries/);
  expect(shown(report.stderr).some((l) => / 100% \| ETA 0s \| 1000 of ~1000 entries \| /.test(l))).toBe(true);
  expect(readFileSync(join(dir, "live.html"), "utf8")).toContain("<html");
  // A file's share read: no estimated total, the entries so far.
  expect(shown(rules.stderr).at(-2)).toMatch(/ 100% \| ETA 0s \| 1000 entries \| \d+ entries\/s$/);
  expect(shown(rules.stderr).at(-1)).toMatch(/^rules test: 1000 entries, /);
});

it("the line: ETA from the share done and the time so far; none for a share too small to go by", () => {
  expect(progressLine({ done: 500, fraction: 0.25, total: 2000, detail: "5 pages" }, 10)).toMatch(
    /^\S{20} 25% \| ETA 30s \| 500 of ~2000 entries \| 50 entries\/s \| 5 pages$/,
  );
  expect(progressLine({ done: 5, fraction: 0.001 }, 2)).toMatch(/ 0% \| ETA … \| 5 entries \| 3 entries\/s$/);
  expect(progressLine({ done: 120, detail: "2 pages" }, 4)).toBe(
    "120 entries | 30 entries/s | 4.0 s | 2 pages",
  );
});
