/**
 * Only regular files are written (packages/client/src/state/outputPath.ts): for every command that writes a file
 * (export --out, with --force and its partial file; report --out/--pdf; tail --checkpoint; watch
 * --checkpoint/--dead-letter), a FIFO, a symbolic link (to a file, or to /dev/null), a character
 * device (made here with mknod when allowed) and a directory are one line, exit 2, before any
 * request, and nothing at the path changes. Also `sync --dest` under /proc/sys, whose mkdir made Node's
 * recursive mkdir spin forever, and `rules test`/`report` on lines that are not audit-log entries.
 */
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DeadLetter } from "../../packages/cli/src/watch/destinations.js";
import { writeFileAtomic } from "../../packages/client/src/state/durableFile.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, PAT, runCli, runMain, tempDir, USER } from "./helpers.js";

let emu: EmulatorHandle;
let tmp: ReturnType<typeof tempDir>;
let input: string;
const ENTRY = JSON.stringify({ timestamp: "2024-03-01T10:00:00Z", user: { id: "alice" }, success: true });

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(20, 5), restPort: false });
  input = join(tmp.dir, "in.jsonl");
  writeFileSync(input, `${ENTRY}\n`);
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

/** A fresh non-regular file of each kind; `check` says it is unchanged. */
interface Kind {
  name: string;
  make(path: string): void;
  check(path: string): void;
  says: RegExp;
}
const TARGET_TEXT = "the link's target, never to be touched\n";
let mknodWorks: boolean | undefined;
function canMknod(dir: string): boolean {
  if (mknodWorks === undefined) {
    try {
      execFileSync("mknod", [join(dir, "probe-null"), "c", "1", "3"], { stdio: "ignore" });
      mknodWorks = true;
    } catch {
      mknodWorks = false;
    }
  }
  return mknodWorks;
}
const KINDS: Kind[] = [
  {
    name: "a FIFO",
    make: (p) => execFileSync("mkfifo", [p]),
    check: (p) => expect(lstatSync(p).isFIFO()).toBe(true),
    says: /is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a symbolic link to a file",
    make: (p) => {
      writeFileSync(`${p}.target`, TARGET_TEXT);
      symlinkSync(`${p}.target`, p);
    },
    check: (p) => {
      expect(lstatSync(p).isSymbolicLink()).toBe(true);
      expect(readFileSync(`${p}.target`, "utf8")).toBe(TARGET_TEXT);
    },
    says: /is a symbolic link, not a regular file/,
  },
  {
    name: "a symbolic link to /dev/null",
    make: (p) => symlinkSync("/dev/null", p),
    check: (p) => {
      expect(lstatSync(p).isSymbolicLink()).toBe(true);
      expect(lstatSync("/dev/null").isCharacterDevice()).toBe(true);
    },
    says: /is a symbolic link, not a regular file/,
  },
  {
    name: "a character device (mknod c 1 3, when allowed)",
    make: (p) => {
      // Where mknod is not allowed, a link to /dev/null stands in (checked above already).
      if (canMknod(tmp.dir)) execFileSync("mknod", [p, "c", "1", "3"]);
      else symlinkSync("/dev/null", p);
    },
    check: (p) => {
      const st = lstatSync(p);
      expect(st.isCharacterDevice() || st.isSymbolicLink()).toBe(true);
    },
    says: /is (a character device|a symbolic link), not a regular file/,
  },
  {
    name: "a directory",
    make: (p) => mkdirSync(p),
    check: (p) => expect(lstatSync(p).isDirectory()).toBe(true),
    says: /is a directory, not a regular file/,
  },
];

let n = 0;
/** `args(path)` run with a fresh `kind` at `path` (`at(path)` when the kind goes elsewhere). */
async function refused(
  kind: Kind,
  flag: string,
  args: (path: string) => string[],
  at: (path: string) => string = (p) => p,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  const path = join(tmp.dir, `case-${++n}`);
  kind.make(at(path));
  const calls = emu.calls;
  const r = await runMain(args(path), env);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
  expect(r.stderr).toContain(`${flag}: ${at(path)} `);
  expect(r.stderr).toMatch(kind.says);
  kind.check(at(path));
  expect(emu.calls).toBe(calls);
}

const conn = () => connection(emu.grpcAddress);
const COMMANDS: [string, string, (p: string) => string[], ((p: string) => string)?][] = [
  ["export --out", "--out", (p) => ["export", ...conn(), "--out", p]],
  ["export --out --force", "--out", (p) => ["export", ...conn(), "--out", p, "--force"]],
  [
    "export --force, FILE.partial",
    "--out",
    (p) => ["export", ...conn(), "--out", p, "--force"],
    (p) => `${p}.partial`,
  ],
  [
    "export --force, FILE.manifest.json",
    "--out",
    (p) => ["export", ...conn(), "--out", p, "--force"],
    (p) => `${p}.manifest.json`,
  ],
  ["report --out", "--out", (p) => ["report", "--input", input, "--out", p]],
  ["report --pdf", "--pdf", (p) => ["report", "--input", input, "--out", `${p}.html`, "--pdf", p]],
  [
    "tail --checkpoint",
    "--checkpoint",
    (p) => ["tail", ...conn(), "--from", "2024-01-01T00:00:00Z", "--checkpoint", p],
  ],
  [
    "watch --checkpoint",
    "--checkpoint",
    (p) => ["watch", ...conn(), "--rules", "builtin", "--once", "--checkpoint", p],
  ],
  [
    "watch --checkpoint, its journal",
    "--checkpoint",
    (p) => ["watch", ...conn(), "--rules", "builtin", "--once", "--checkpoint", p],
    (p) => `${p}.delivered`,
  ],
  [
    "watch --dead-letter",
    "--dead-letter",
    (p) => ["watch", ...conn(), "--rules", "builtin", "--once", "--dead-letter", p],
  ],
];

describe.each(COMMANDS)("%s", (_name, flag, args, at) => {
  it.each(KINDS.map((k) => [k.name, k] as const))(
    "refuses %s: one line, exit 2, nothing changed",
    async (_k, kind) => {
      await refused(kind, flag, args, at, {
        PATH: process.env.PATH,
        CLARIFAI_PAT: PAT,
        CLARIFAI_USER_ID: USER,
        CHROMIUM_PATH: "/nonexistent",
      });
    },
  );
});

it("a regular file is still replaced: report --out over an existing file", async () => {
  const out = join(tmp.dir, "regular.html");
  writeFileSync(out, "old");
  const r = await runCli(["report", "--input", input, "--out", out, "--quiet"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(readFileSync(out, "utf8")).toMatch(/^<!doctype html>/i);
});

it("the state writers refuse at write time too (a FIFO or link that appeared after the checks)", async () => {
  for (const kind of KINDS) {
    const path = join(tmp.dir, `late-${++n}`);
    kind.make(path);
    await expect(writeFileAtomic(path, "x")).rejects.toThrow(kind.says);
    await expect(new DeadLetter(path).append("d", { error: "e", attempts: 1 }, "{}")).rejects.toThrow(
      kind.says,
    );
    kind.check(path);
  }
});

it("sync --dest under /proc/sys (where Node's recursive mkdir spun forever): one line, exit 2", async () => {
  const r = await runMain(["sync", ...conn(), "--dest", "/proc/sys/clarifai-audit-test/lake"]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toBe(
    "clarifai-audit: error: --dest: cannot create /proc/sys/clarifai-audit-test/lake (ENOENT)\n",
  );
});

it.each([
  ["rules test", (p: string) => ["rules", "test", "--rules", "builtin", "--input", p]],
  ["report", (p: string) => ["report", "--input", p, "--out", join(tmp.dir, "never.html")]],
])("%s refuses lines that are not audit-log entries, naming file and line", async (_name, args) => {
  const path = join(tmp.dir, `hello-${++n}.jsonl`);
  writeFileSync(path, `${ENTRY}\n{"hello":1}\n`);
  const r = await runMain(args(path));
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toBe(
    `clarifai-audit: error: --input: ${path}: line 2: not an audit-log entry: unknown field "hello" (an audit-log entry has timestamp, user, operation, description, targets, details, success, req_id, source_ip)\n`,
  );
});

it("sync --dest a lake whose state file is a FIFO: one line, exit 2 (reading it blocked forever)", async () => {
  const lake = join(tmp.dir, "fifo-lake");
  mkdirSync(lake);
  execFileSync("mkfifo", [join(lake, "_clarifai_sync.json")]);
  const r = await runMain(["sync", ...conn(), "--dest", lake]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toBe(
    `clarifai-audit: error: ${join(lake, "_clarifai_sync.json")}: is a FIFO, not a regular file; nothing was changed (a damaged lake state file)\n`,
  );
  expect(lstatSync(join(lake, "_clarifai_sync.json")).isFIFO()).toBe(true);
});
