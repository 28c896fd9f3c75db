/**
 * The export progress line as users see it from the built bin: drawn on stderr when stderr is a
 * terminal (the CLI runs under util-linux `script`, which gives it a pseudo-terminal), below the
 * resolved window line, with % and ETA of the size the probes estimate; never with --quiet or when
 * stderr is a pipe; stdout stays empty either way, or holds exactly the export with `--out -`.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CLI,
  type CliResult,
  cliEnv,
  collect,
  type GeneratedEmulator,
  runCli,
  startGeneratedEmulator,
} from "./helpers.js";

const hasScript = spawnSync("script", ["--version"]).status === 0;
const ESC = "\u001b[";

let generated: GeneratedEmulator;
beforeAll(async () => {
  generated = await startGeneratedEmulator(3_000, 71);
});
afterAll(() => generated.close());

const args = (out: string, extra: string[] = []) => [
  "export",
  ...generated.conn,
  "--out",
  out,
  "--per-page",
  "100",
  ...extra,
];

/** Runs the CLI with stderr on a pseudo-terminal and stdout redirected to `stdoutFile`. */
function runOnTerminal(cliArgs: string[], stdoutFile: string): Promise<CliResult> {
  const command = [process.execPath, CLI, ...cliArgs].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qec", `${command} > '${stdoutFile}'`, "/dev/null"], {
    env: cliEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collect(child);
}

(hasScript ? describe : describe.skip)("on a terminal", () => {
  it("draws the progress line below the window line; stdout stays empty", async () => {
    const dir = generated.tmp.dir;
    const r = await runOnTerminal(args(join(dir, "tty.jsonl")), join(dir, "tty.stdout"));
    expect(r.code).toBe(0);
    const screen = r.stdout.replace(/\r/g, "");
    expect(screen).toMatch(
      /\d+% \| ETA \S+ \| \d+ of ~\d+ entries \| \d+ entries\/s \| \d+ pages \| retries 0 \| shifted 0/,
    );
    // The window line starts a line of its own (the bar must not be drawn before it).
    expect(screen).toMatch(/(^|\n)exporting window from \S+ to \S+ \(UTC, oldest first\)\n/);
    expect(screen).toMatch(/\nexported 3000 entries in \d+ pages/);
    expect(readFileSync(join(dir, "tty.stdout"), "utf8")).toBe("");
  });

  it("--out -: the bar on the terminal, the export alone on stdout, the same bytes as the file", async () => {
    const dir = generated.tmp.dir;
    // The emulator's log does not grow: both runs walk all of it.
    const file = join(dir, "same.jsonl");
    expect((await runCli(args(file, ["--quiet"]))).code).toBe(0);
    const r = await runOnTerminal(args("-"), join(dir, "piped.stdout"));
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\r/g, "")).toMatch(/ 100% \| ETA 0s \| 3000 of ~3000 entries \| /);
    expect(r.stdout).toMatch(/\nexported 3000 entries in \d+ pages to stdout: /);
    expect(readFileSync(join(dir, "piped.stdout")).equals(readFileSync(file))).toBe(true);
  });

  it("draws nothing with --quiet", async () => {
    const dir = generated.tmp.dir;
    const r = await runOnTerminal(args(join(dir, "quiet.jsonl"), ["--quiet"]), join(dir, "quiet.stdout"));
    expect(r.code).toBe(0);
    const screen = r.stdout.replace(/\r/g, "");
    // Only errors and warnings: no bar, no window line, no summary line.
    expect(screen).toBe("");
    expect(readFileSync(join(dir, "quiet.stdout"), "utf8")).toBe("");
  });
});

it("draws nothing when stderr is not a terminal", async () => {
  const r = await runCli(args(join(generated.tmp.dir, "pipe.jsonl")));
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toContain(ESC);
  expect(r.stderr).toMatch(/^exporting window from [^\n]+\nexported 3000 entries in \d+ pages[^\n]*\n$/);
});
