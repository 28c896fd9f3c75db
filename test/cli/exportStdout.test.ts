/**
 * `export --out -`: the export on stdout through the stream sink, byte-identical to the file export
 * of the same window in every format; the window and summary lines on stderr; --resume and --force
 * refused in one line before any request; a reader that goes away (`| head -1`) ends it with 0; and
 * nothing written to disk.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { main } from "../../packages/cli/src/cli/cli.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import {
  CLI,
  cliEnv,
  collect,
  connection,
  type GeneratedEmulator,
  PAT,
  runMain,
  spawnCli,
  startGeneratedEmulator,
  USER,
  waitForStderr,
} from "./helpers.js";

let generated: GeneratedEmulator;
let window: string[];
beforeAll(async () => {
  generated = await startGeneratedEmulator(1_500, 23);
  const iso = (i: number) => JSON.parse(entryToJsonLine(generated.sorted[i]!)).timestamp as string;
  // A pinned window, so the file and the stdout export walk the same entries.
  window = ["--from", iso(100), "--to", iso(1_399), "--per-page", "250", "--concurrency", "4"];
});
afterAll(() => generated.close());

/** A stdout that keeps the bytes written to it. */
function byteSink(): Writable & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  }) as Writable & { bytes(): Buffer };
  sink.bytes = () => Buffer.concat(chunks);
  return sink;
}

/** Runs the CLI in-process; stdout as bytes, stderr as text. */
async function runBytes(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  const stdout = byteSink();
  const stderr = new PassThrough();
  let text = "";
  stderr.setEncoding("utf8").on("data", (d: string) => {
    text += d;
  });
  const code = await main(args, cliEnv(), { stdin: new PassThrough(), stdout, stderr });
  return { code, stdout: stdout.bytes(), stderr: text };
}

it.each(["jsonl", "csv", "json"])(
  "--out - --format %s writes the bytes the file export holds; the lines stay on stderr",
  async (format) => {
    const file = join(generated.tmp.dir, `window.${format}`);
    const [toFile, toStdout] = await Promise.all([
      runMain(["export", ...generated.conn, ...window, "--out", file, "--format", format]),
      runBytes(["export", ...generated.conn, ...window, "--out", "-", "--format", format]),
    ]);
    expect([toFile.code, toStdout.code]).toEqual([0, 0]);
    const bytes = readFileSync(file);
    expect(toStdout.stdout.length).toBeGreaterThan(65_536);
    expect(toStdout.stdout.equals(bytes)).toBe(true);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    expect(toStdout.stderr).toMatch(
      new RegExp(
        `^exporting window from \\S+ to \\S+ \\(UTC, oldest first\\)\\nexported 1300 entries in \\d+ pages to stdout: ${bytes.length} bytes, sha256 ${sha256};[^\\n]*\\n$`,
      ),
    );
  },
);

it("defaults to JSON Lines on stdout and gives its figures with --json (out: -)", async () => {
  const r = await runBytes(["export", ...generated.conn, ...window, "--out", "-", "--quiet", "--json"]);
  expect(r.code).toBe(0);
  const lines = r.stdout.toString("utf8").trimEnd().split("\n");
  expect(lines).toHaveLength(1_300);
  expect(lines[0]).toBe(entryToJsonLine(generated.sorted[100]!));
  const json = JSON.parse(r.stderr.trimEnd().split("\n").pop()!);
  expect(json).toMatchObject({ command: "export", exitCode: 0, out: "-", entries: 1_300, resumed: false });
});

it.each([
  [
    "--resume",
    /^clarifai-audit: error: --resume: --out - writes to stdout, which cannot be resumed \(no manifest or partial file is kept\); export to a file to resume\n$/,
  ],
  [
    "--force",
    /^clarifai-audit: error: --force: --out - writes to stdout; there is no file to overwrite or discard\n$/,
  ],
])("refuses %s with --out - in one line, before any request", async (flag, line) => {
  const calls = generated.emu.calls;
  const r = await runBytes(["export", ...generated.conn, "--out", "-", flag]);
  expect({ code: r.code, stderr: r.stderr, stdout: r.stdout.length }).toEqual({
    code: 2,
    stderr: expect.stringMatching(line),
    stdout: 0,
  });
  expect(generated.emu.calls).toBe(calls);
});

it("a reader that stops (EPIPE) ends an in-process export with 0 and no error line", async () => {
  let writes = 0;
  const stdout = new Writable({
    write(_chunk, _encoding, done) {
      writes++;
      done(writes > 1 ? Object.assign(new Error("write EPIPE"), { code: "EPIPE" }) : undefined);
    },
  });
  const stderr = byteSink();
  const code = await main(
    ["export", ...generated.conn, ...window, "--out", "-", "--concurrency", "1"],
    cliEnv(),
    { stdin: new PassThrough(), stdout, stderr },
  );
  expect(code).toBe(0);
  expect(writes).toBe(2);
  expect(stderr.bytes().toString()).not.toContain("error");
});

it("as users run it: `export --out - | head -1` exits 0 and writes nothing to disk", async () => {
  const cwd = mkdtempSync(join(tmpdir(), "clarifai-audit-stdout-"));
  try {
    const args = ["export", ...generated.conn, "--out", "-", "--per-page", "100"];
    const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
    // The exporter's own exit status, not head's: bash's PIPESTATUS, printed on a line of its own.
    const child = spawn("bash", ["-c", `${command} | head -1; echo "exit \${PIPESTATUS[0]}"`], {
      cwd,
      env: cliEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const r = await collect(child);
    expect(r.stdout).toBe(`${entryToJsonLine(generated.sorted[0]!)}\nexit 0\n`);
    expect(r.stderr).not.toContain("error");
    expect(readdirSync(cwd)).toEqual([]);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

it("interrupted, it says that stdout cannot be resumed and exits 130", async () => {
  generated.emu.setFaults({ latencyMs: 40 });
  try {
    const child = spawnCli([
      "export",
      ...generated.conn,
      "--out",
      "-",
      "--per-page",
      "50",
      "--concurrency",
      "1",
    ]);
    const done = collect(child);
    await waitForStderr(child, (text) => text.includes("exporting window"));
    child.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(
      /\nclarifai-audit: error: export to stdout interrupted after \d+ entries; it cannot be resumed: run it again \(or export to a file, which can be\)\n$/,
    );
  } finally {
    generated.emu.resetFaults();
  }
});

it("to a terminal, entry text has its control characters escaped; to a pipe, the exact bytes", async () => {
  const emu = await startEmulator({ pats: { [PAT]: USER }, restPort: false });
  try {
    // A description that would retitle the terminal (OSC) and then sound its bell.
    const [entry] = generateEntries(1, 9);
    emu.append([{ ...entry!, description: "ok\u001b]0;pwned\u0007\u009b2J" }]);
    const args = ["export", ...connection(emu.grpcAddress), "--out", "-", "--quiet"];
    for (const format of ["jsonl", "csv"]) {
      const terminal = byteSink() as ReturnType<typeof byteSink> & { isTTY: boolean };
      terminal.isTTY = true;
      const code = await main([...args, "--format", format], cliEnv(), {
        stdin: new PassThrough(),
        stdout: terminal,
        stderr: new PassThrough(),
      });
      expect(code).toBe(0);
      const shown = terminal.bytes().toString("utf8");
      expect(shown).toContain("ok");
      for (const control of ["\u0007", "\u001b", "\u009b"]) expect(shown).not.toContain(control);
    }
    const piped = await runBytes([...args, "--format", "jsonl"]);
    expect(piped.stdout.toString("utf8")).toContain("\\u001b]0;pwned\\u0007\u009b2J");
  } finally {
    await emu.close();
  }
});
