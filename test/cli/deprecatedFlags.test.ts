/**
 * The renamed flags keep working until 0.2.0 (packages/cli/src/cli/deprecatedFlags.ts), each run
 * with its OLD name against the NEW one: the same result, and exactly one warning line on stderr
 * per run. `--user` → `--actor` (repeatable), sync's `--to` → `--dest` (and `--lake` as a lake
 * destination), the emulator's `--profile` → `--preset` (choices); both names at once are refused.
 * In-process (main) against an in-process emulator; the emulator's own run through the built bin.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { AuditLogClient } from "../../packages/client/src/index.js";
import { collect, runMain, spawnCli, startGeneratedEmulator } from "./helpers.js";

let g: Awaited<ReturnType<typeof startGeneratedEmulator>>;

beforeAll(async () => {
  g = await startGeneratedEmulator(300, 11);
});
afterAll(() => g?.close());

const warning = (old: string, replacement: string) =>
  `clarifai-audit: warning: ${old} is deprecated, use ${replacement} (removed in 0.2.0)\n`;

describe("--user → --actor", () => {
  const search = (...flags: string[]) =>
    runMain([
      "search",
      ...g.conn,
      "--all",
      "--format",
      "jsonl",
      "-q",
      "--from",
      "2000-01-01T00:00:00Z",
      ...flags,
    ]);

  it("the old name: one warning line, the same entries as --actor; repeatable, one warning per run", async () => {
    const users = [...new Set(g.sorted.map((e) => e.user?.id as string))].slice(0, 2);
    expect(users).toHaveLength(2);
    const [oldOne, newOne] = await Promise.all([
      search("--user", users[0] as string),
      search("--actor", users[0] as string),
    ]);
    expect(newOne).toMatchObject({ code: 0, stderr: "" });
    expect(newOne.stdout.split("\n").filter(Boolean).length).toBe(
      g.sorted.filter((e) => e.user?.id === users[0]).length,
    );
    expect(oldOne).toEqual({ ...newOne, stderr: warning("--user", "--actor") });
    const twoOld = await search("--user", users[0] as string, "--user", users[1] as string);
    const twoNew = await search("--actor", users[0] as string, "--actor", users[1] as string);
    expect(twoNew.stdout.split("\n").filter(Boolean).length).toBeGreaterThan(
      newOne.stdout.split("\n").filter(Boolean).length,
    );
    expect(twoOld).toEqual({ ...twoNew, stderr: warning("--user", "--actor") });
  });

  it("its value is checked as --actor's is: the warning, then the one error line", async () => {
    const r = await search("--user", "a b");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^${warning("--user", "--actor").replace(/[()]/g, "\\$&")}clarifai-audit: error: --actor: [^\\n]*whitespace[^\\n]*\\n$`,
      ),
    );
  });

  it("both names at once: one line, exit 2, nothing printed", async () => {
    const r = await search("--user", "a", "--actor", "b");
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toBe(
      "clarifai-audit: error: --user: give --actor only (--user is its deprecated name; both were given)\n",
    );
  });

  it("--json: the warning first, the object still last", async () => {
    const r = await search("--user", "nobody", "--json");
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines[0]).toBe(warning("--user", "--actor").trim());
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ command: "search", exitCode: 0, entries: 0 });
  });
});

describe("sync --to → --dest, and --lake", () => {
  const sync = (...flags: string[]) => runMain(["sync", ...g.conn, "--settle", "0s", "-q", ...flags]);
  const parquet = (dir: string) =>
    readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith(".parquet"));

  it("--to DIR: one warning line and the same lake as --dest DIR and --lake DIR", async () => {
    const [viaTo, viaDest, viaLake] = ["to", "dest", "lake"].map((n) => join(g.tmp.dir, `lake-${n}`));
    const old = await sync("--to", viaTo as string, "--json");
    const dest = await sync("--dest", viaDest as string, "--json");
    const lake = await sync("--lake", viaLake as string, "--json");
    const figures = (r: { stderr: string }) =>
      JSON.parse(r.stderr.trim().split("\n").at(-1) as string) as Record<string, unknown>;
    for (const r of [old, dest, lake]) expect(r.code).toBe(0);
    expect(old.stderr.startsWith(warning("--to", "--dest"))).toBe(true);
    expect(old.stderr.split("\n").filter(Boolean)).toHaveLength(2);
    expect(dest.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(figures(old)).toMatchObject({ command: "sync", inserted: 300, dest: viaTo });
    expect(figures(dest)).toMatchObject({ inserted: 300, dest: viaDest });
    expect(figures(lake)).toMatchObject({ inserted: 300, dest: viaLake });
    const files = [viaTo, viaDest, viaLake].map((dir) => parquet(dir as string).length);
    expect(files[0]).toBeGreaterThan(0);
    expect(files).toEqual([files[0], files[0], files[0]]);
    const count = await runMain([
      "query",
      "--lake",
      viaTo as string,
      "--format",
      "csv",
      "SELECT count(*) AS n FROM audit_log",
    ]);
    expect(count.stdout).toBe("n\n300\n");
  });

  it.each([
    [
      ["--to", "a", "--dest", "b"],
      "clarifai-audit: error: --to: give --dest only (--to is its deprecated name; both were given)\n",
    ],
    [
      ["--dest", "a", "--lake", "b"],
      "clarifai-audit: error: --lake: give one destination, --dest or --lake, not both\n",
    ],
    [
      [],
      "clarifai-audit: error: --dest: name the destination: --dest DIR, --dest postgres://…, s3://…, syslog://…, splunk+https://… or --lake DIR\n",
    ],
    [
      ["--lake", "postgres://u@127.0.0.1:1/db"],
      "clarifai-audit: error: --lake: a lake is a folder; for a postgres://, s3://, syslog:// or splunk+https:// destination use --dest\n",
    ],
    [
      ["--to", " "],
      `${warning("--to", "--dest")}clarifai-audit: error: --dest: name a folder or a postgres://, s3://, syslog://, syslog+tls:// or splunk+https:// URL\n`,
    ],
    [["--lake", " "], "clarifai-audit: error: --lake: name a folder\n"],
  ])("%j: exit 2 before any request", async (flags, stderr) => {
    const calls = g.emu.calls;
    const r = await sync(...flags);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr });
    expect(g.emu.calls).toBe(calls);
  });
});

describe("emulator --profile → --preset", () => {
  it("a bad value is refused by --preset's choices, named as given", async () => {
    const [old, now] = await Promise.all([
      runMain(["emulator", "--profile", "aws"]),
      runMain(["emulator", "--preset", "aws"]),
    ]);
    expect(old).toEqual({
      code: 2,
      signal: null,
      stdout: "",
      stderr:
        "clarifai-audit: error: option '--profile <name>' argument 'aws' is invalid. Allowed choices are clarifai.\n",
    });
    expect(now.stderr).toBe(old.stderr.replace("--profile", "--preset"));
    const both = await runMain(["emulator", "--profile", "clarifai", "--preset", "clarifai"]);
    expect(both).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clarifai-audit: error: --profile: give --preset only [^\n]*\n$/),
    });
  });

  it("--profile clarifai (the built bin): one warning line, then the preset's pace: 80 ms or more per call", async () => {
    const child = spawnCli([
      "emulator",
      "--profile",
      "clarifai",
      "--no-rest",
      "--pat",
      "p=u",
      "--generate",
      "5",
    ]);
    const done = collect(child);
    const ready = await new Promise<{ grpc: string }>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))) as { grpc: string });
      });
      child.on("exit", () => reject(new Error("the emulator exited before its ready line")));
    });
    const client = new AuditLogClient({ endpoint: ready.grpc, insecure: true, pat: "p", userId: "u" });
    try {
      await client.search({ perPage: 1 });
      const started = performance.now();
      await client.search({ perPage: 1 });
      // The preset's 80-120 ms per call (packages/emulator/src/profiles.ts); without it a loopback
      // call takes a few ms. A floor, not a race.
      expect(performance.now() - started).toBeGreaterThanOrEqual(80);
    } finally {
      client.close();
      child.kill("SIGTERM");
    }
    const r = await done;
    expect(r.code).toBe(0);
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines[0]).toBe(warning("--profile", "--preset").trim());
    expect(lines.slice(1)).toEqual([
      "clarifai-audit: emulator serving 5 entries; Ctrl-C to stop",
      "clarifai-audit: emulator SIGTERM, shutting down",
    ]);
  }, 30_000);
});
