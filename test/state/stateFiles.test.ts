/**
 * Every state file read by the built CLI through the one validated reader (packages/client/src/state/stateReader.ts):
 * the lake state (`sync --dest DIR`, `query --lake DIR`), the export manifest (`export --resume`), the
 * tail and watch checkpoints. A damaged or forged file is one line naming the file and the field,
 * exit 2, before any request, and the destination is left exactly as it was (listing, hashes,
 * symbolic links), files outside it included.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, PAT, runCli, runMain, tempDir, USER } from "../cli/helpers.js";
import { validExportManifest } from "../export/manifestFixture.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
/** A lake synced once (never changed): each case works on a copy. */
let base: string;

const SYNC = ["--settle", "0s", "--reconcile", "3650d", "--per-page", "50", "--commit-interval", "0"];

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(300, 2026), restPort: false });
  conn = connection(emu.grpcAddress);
  base = join(tmp.dir, "base-lake");
  const r = await runCli(["sync", ...conn, "--dest", base, ...SYNC]);
  expect({ code: r.code, stderr: r.stderr.includes("error") }).toEqual({ code: 0, stderr: false });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

/** Every path under `dir` with its kind and content hash (or link target): equal before and after. */
function tree(dir: string): string {
  const out: string[] = [];
  const walk = (at: string, rel: string) => {
    for (const name of readdirSync(at).sort()) {
      const p = join(at, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const info = lstatSync(p);
      if (info.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p)}`);
      else if (info.isDirectory()) {
        out.push(`${r}/`);
        walk(p, r);
      } else if (info.isFile())
        out.push(`${r} ${info.size} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`);
      else out.push(`${r} (special)`);
    }
  };
  walk(dir, "");
  return out.join("\n");
}

/** One line on stderr naming `file` and `field`, exit 2, nothing on stdout, no request made. */
function expectRefused(
  r: { code: number | null; stdout: string; stderr: string },
  file: string,
  field: RegExp | string,
  calls: number,
): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
  expect(r.stderr).toContain(file);
  if (typeof field === "string") expect(r.stderr).toContain(field);
  else expect(r.stderr).toMatch(field);
  expect(r.stderr).not.toMatch(/TypeError|Cannot read|is not iterable|at .*\.js:\d+/);
  expect(emu.calls).toBe(calls);
}

/** What a forge returns: the file's raw text, `SKIP` (it changed the files itself), or anything else (write the JSON). */
const SKIP = Symbol("skip");
function rawText(result: unknown): string | Buffer | typeof SKIP | undefined {
  if (result === SKIP) return SKIP;
  if (typeof result === "object" && result !== null && "text" in result)
    return (result as { text: string | Buffer }).text;
  return undefined;
}

type Json = Record<string, unknown> & {
  files: Array<Record<string, unknown>>;
  state: Record<string, unknown> & { totals: Record<string, unknown>; identity: Record<string, unknown> };
};

describe("lake state file: sync and query refuse it, nothing in or outside the lake changes", () => {
  let n = 0;
  /** A copy of the base lake beside a file outside it, with its state file changed by `forge`. */
  function forged(forge: (m: Json, dir: string) => unknown): { dir: string; root: string; state: string } {
    const root = join(tmp.dir, `case-${++n}`);
    const dir = join(root, "lake");
    mkdirSync(root);
    cpSync(base, dir, { recursive: true });
    writeFileSync(join(root, "x"), "outside the lake\n");
    const state = join(dir, "_clarifai_sync.json");
    const m = JSON.parse(readFileSync(state, "utf8")) as Json;
    const text = rawText(forge(m, dir));
    if (text !== SKIP) writeFileSync(state, text ?? JSON.stringify(m));
    return { dir, root, state };
  }

  /** `sync` (and `query`, unless `syncOnly`) refused; the lake and its folder unchanged. */
  async function refusedBoth(
    c: { dir: string; root: string; state: string },
    field: RegExp | string,
    syncOnly = false,
  ) {
    const before = tree(c.root);
    const calls = emu.calls;
    const sync = await runCli(["sync", ...conn, "--dest", c.dir, ...SYNC]);
    expectRefused(sync, c.state, field, calls);
    expect(tree(c.root)).toBe(before);
    if (syncOnly) return;
    const query = await runCli(["query", "--lake", c.dir, "SELECT count(*) FROM audit_log"]);
    expectRefused(query, c.state, field, calls);
    expect(tree(c.root)).toBe(before);
  }

  it("the base lake is accepted (the cases below differ from it only where they say)", async () => {
    const c = forged(() => undefined);
    const q = await runCli([
      "query",
      "--lake",
      c.dir,
      "SELECT count(*) AS n FROM audit_log",
      "--format",
      "csv",
    ]);
    expect({ code: q.code, stdout: q.stdout }).toEqual({ code: 0, stdout: "n\n300\n" });
    const s = await runCli(["sync", ...conn, "--dest", c.dir, ...SYNC]);
    expect(s.code).toBe(0);
  });

  it('obsolete: ["../x"] does not delete a file outside the lake', async () => {
    const c = forged((m) => {
      m.obsolete = ["../x"];
    });
    await refusedBoth(c, /field \/obsolete\/0 is "\.\.\/x", expected a path audit_log\/date=/);
    expect(readFileSync(join(c.root, "x"), "utf8")).toBe("outside the lake\n");
  });

  it("an obsolete path that climbs out through audit_log/.., or is absolute", async () => {
    for (const p of [
      "audit_log/date=2025-01-01/../../../x",
      "/etc/passwd",
      `${tmp.dir}/x`,
      "audit_log/date=2025-01-01/part-1.parquet/",
    ]) {
      await refusedBoth(
        forged((m) => {
          m.obsolete = [p];
        }),
        "field /obsolete/0",
      );
    }
  });

  it("a live file listed as obsolete is not deleted", async () => {
    const c = forged((m) => {
      m.obsolete = [m.files[0]?.path];
    });
    await refusedBoth(c, /field \/obsolete\/0 is audit_log\/.*, a live file \(\/files\/0\)/);
  });

  it("a file listed twice (its rows would be read twice)", async () => {
    await refusedBoth(
      forged((m) => {
        m.files.push({ ...m.files[0] });
      }),
      new RegExp(`field /files/${0 + 1}/path lists .* a second time|field /files/\\d+/path lists`),
    );
  });

  it("a listed path that goes through a symbolic link out of the lake", async () => {
    // The partition folder replaced by a link to a copy outside: same names, same bytes.
    const c = forged((m, dir) => {
      const part = String(m.files[0]?.path).split("/").slice(0, 2).join("/");
      const outside = join(dir, "..", "elsewhere");
      renameSync(join(dir, part), outside);
      symlinkSync(outside, join(dir, part));
      return SKIP;
    });
    await refusedBoth(c, /field \/files\/\d+\/path names audit_log\/date=.*is a symbolic link/);
    // The file itself a link.
    const d = forged((m, dir) => {
      const file = join(dir, String(m.files[0]?.path));
      renameSync(file, join(dir, "..", "real.parquet"));
      symlinkSync(join(dir, "..", "real.parquet"), file);
      return SKIP;
    });
    await refusedBoth(d, /field \/files\/0\/path names .*is a symbolic link/);
  });

  it("an unlisted partition that is a symbolic link: the sweep of temporary files does not follow it", async () => {
    const c = forged((_m, dir) => {
      const outside = join(dir, "..", "other");
      mkdirSync(outside);
      writeFileSync(join(outside, ".part-1-0-aa.parquet.tmp"), "not the lake's");
      symlinkSync(outside, join(dir, "audit_log", "date=2099-01-01"));
      return SKIP;
    });
    const r = await runCli(["sync", ...conn, "--dest", c.dir, ...SYNC]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(c.root, "other", ".part-1-0-aa.parquet.tmp"), "utf8")).toBe("not the lake's");
  });

  it("schemaVersion a string, a fraction, or newer than this build", async () => {
    await refusedBoth(
      forged((m) => {
        m.schemaVersion = "1";
      }),
      'field /schemaVersion is a string ("1"), expected an integer from 1 to 2',
    );
    await refusedBoth(
      forged((m) => {
        m.schemaVersion = 1.5;
      }),
      "field /schemaVersion is a number (1.5)",
    );
    await refusedBoth(
      forged((m) => {
        m.schemaVersion = 3;
      }),
      "field /schemaVersion is 3: a clarifai-audit lake state file of a newer clarifai-audit (this one reads version 2; upgrade clarifai-audit)",
    );
  });

  it("a damaged keys field (its entries would be written twice)", async () => {
    for (const keys of ["!!!!", "AAAA", "not base64 at all", 12, null]) {
      await refusedBoth(
        forged((m) => {
          m.keys = keys;
        }),
        "field /keys",
      );
    }
  });

  it("each field null, of the wrong type, or missing", async () => {
    const cases: Array<[string, (m: Json) => void]> = [
      ["/files/0", (m) => (m.files[0] = null as never)],
      ["/files", (m) => (m.files = {} as never)],
      ["/pending", (m) => (m.pending = "x")],
      ["/obsolete", (m) => (m.obsolete = null)],
      ["/state", (m) => (m.state = null as never)],
      ["/state/identity", (m) => (m.state.identity = null as never)],
      ["/state/identity/userId", (m) => (m.state.identity.userId = "\u001b]0;pwned\u0007")],
      ["/state/totals/entries", (m) => (m.state.totals.entries = -1)],
      ["/state/totals/late", (m) => (m.state.totals.late = 1e9)],
      ["/state/highWater", (m) => (m.state.highWater = "yesterday")],
      ["/state/run/cursor", (m) => (m.state.run = { startedAt: "2025-01-01T00:00:00Z" })],
      ["/seq", (m) => (m.seq = -1)],
      ["/files/0/rows", (m) => (m.files[0] = { ...m.files[0], rows: "10" })],
      ["/files/0/minNs", (m) => (m.files[0] = { ...m.files[0], minNs: "x" })],
      ["/files/0/minNs", (m) => (m.files[0] = { ...m.files[0], minNs: "99999999999999999999" })],
      ["/pending/0", (m) => (m.pending = ["audit_log/date=2025-01-01/part-9.parquet"])],
      ["/extra", (m) => (m.extra = 1)],
      ["/kind", (m) => (m.kind = "clarifai-audit-export")],
      ...["kind", "schemaVersion", "seq", "state", "files", "pending", "obsolete", "keys"].map(
        (k) => [`/${k}`, (m: Json) => delete m[k]] as [string, (m: Json) => void],
      ),
    ];
    for (const [field, forge] of cases) await refusedBoth(forged(forge), `field ${field} `, true);
  });

  it("not JSON, not UTF-8, JSON of the wrong type, empty, too deep, too large", async () => {
    for (const [text, why] of [
      ["{", /is not valid JSON/],
      ["", /is not valid JSON/],
      [Buffer.from([0x7b, 0xff, 0x7d]), /is not UTF-8/],
      ["null", /field \/ is null, expected an object/],
      ["[1]", /field \/ is an array, expected an object/],
      ['"lake"', /field \/ is a string/],
      ["[".repeat(100_000), /is not valid JSON|nested more than 64/],
      [
        `{"kind":"clarifai-audit-lake","schemaVersion":1,"x":${"[".repeat(200)}${"]".repeat(200)}}`,
        /nested more than 64/,
      ],
    ] as const) {
      await refusedBoth(
        forged(() => ({ text })),
        why,
      );
    }
    // A sparse file larger than the bound: refused by its size, never read.
    await refusedBoth(
      forged((_m, dir) => {
        truncateSync(join(dir, "_clarifai_sync.json"), 300 * 1024 * 1024);
        return SKIP;
      }),
      /is 314572800 bytes, larger than the 256 MiB a state file may be/,
    );
  });

  it("a folder or a FIFO in place of the state file", async () => {
    await refusedBoth(
      forged((_m, dir) => {
        rmSync(join(dir, "_clarifai_sync.json"));
        mkdirSync(join(dir, "_clarifai_sync.json"));
        return SKIP;
      }),
      /is a folder, not a regular file/,
    );
    await refusedBoth(
      forged((_m, dir) => {
        rmSync(join(dir, "_clarifai_sync.json"));
        execFileSync("mkfifo", [join(dir, "_clarifai_sync.json")]);
        return SKIP;
      }),
      /is a FIFO, not a regular file/,
    );
  });
});

describe("export manifest: export --resume refuses it, nothing changes", () => {
  const good = validExportManifest;
  it.each<[string, (m: ReturnType<typeof good>) => unknown, RegExp | string]>([
    ["not JSON", () => ({ text: "{" }), /is not valid JSON/],
    ["null", () => ({ text: "null" }), "field / is null"],
    ["committed null", (m) => ((m as Record<string, unknown>).committed = null), "field /committed is null"],
    ["bytes negative", (m) => (m.committed.bytes = -1), "field /committed/bytes is -1"],
    [
      "bytes a string",
      (m) => ((m.committed as Record<string, unknown>).bytes = "0"),
      "field /committed/bytes",
    ],
    [
      "version newer",
      (m) => (m.version = 2),
      "field /version is 2: a clarifai-audit export manifest of a newer",
    ],
    ["version a string", (m) => ((m as Record<string, unknown>).version = "1"), "field /version is a string"],
    [
      "boundaryKeys null",
      (m) => ((m.committed.cursor as Record<string, unknown>).boundaryKeys = null),
      "field /committed/cursor/boundaryKeys",
    ],
    ["cursor page 0", (m) => (m.committed.cursor.page = 0), "field /committed/cursor/page"],
    ["window missing", (m) => delete (m as Partial<typeof m>).window, "field /window is missing"],
  ])("%s", async (_name, forge, field) => {
    const dir = join(tmp.dir, `export-${_name.replace(/\W/g, "-")}`);
    mkdirSync(dir);
    const out = join(dir, "out.jsonl");
    const m = good();
    const text = rawText(forge(m));
    writeFileSync(`${out}.manifest.json`, text === undefined || text === SKIP ? JSON.stringify(m) : text);
    writeFileSync(`${out}.partial`, "");
    const before = tree(dir);
    const calls = emu.calls;
    const r = await runCli(["export", ...conn, "--out", out, "--resume"]);
    expectRefused(r, `${out}.manifest.json`, field, calls);
    expect(tree(dir)).toBe(before);
  });
});

describe("tail and watch checkpoints: refused, left as they were", () => {
  const tailArgs = (ck: string) => ["tail", ...conn, "--from", "2024-12-31T00:00:00Z", "--checkpoint", ck];
  const watchArgs = (ck: string) => [
    "watch",
    ...conn,
    "--rules",
    "builtin",
    "--once",
    "--from",
    "2024-12-31T00:00:00Z",
    "--checkpoint",
    ck,
  ];
  const TS = "2025-01-01T00:00:00Z";
  const tail = () => ({
    version: 1,
    kind: "clarifai-audit-tail",
    query: "q",
    start: TS,
    position: TS,
    seen: [["k", TS]] as unknown[],
    lateSkipped: 0,
    updatedAt: TS,
  });
  const watch = () => ({
    version: 1,
    kind: "clarifai-audit-watch",
    query: "q",
    start: TS,
    position: TS,
    seen: [["k", TS]] as unknown[],
    rules: {} as Record<string, unknown>,
    outbox: [] as unknown[],
    updatedAt: TS,
  });
  const common: Array<[string, (m: Record<string, unknown>) => unknown, RegExp | string]> = [
    ["not JSON", () => ({ text: "{" }), /is not valid JSON/],
    ["an array", () => ({ text: "[]" }), "field / is an array"],
    ['version "1"', (m) => (m.version = "1"), 'field /version is a string ("1")'],
    ["version 2", (m) => (m.version = 2), "field /version is 2:"],
    ["seen not an array", (m) => (m.seen = 5), "field /seen is a number"],
    ["seen holding null", (m) => (m.seen = [null]), "field /seen/0 is null"],
    ["seen holding a number", (m) => (m.seen = [5]), "field /seen/0 is a number"],
    [
      "seen key repeated",
      (m) =>
        (m.seen = [
          ["k", TS],
          ["k", TS],
        ]),
      "field /seen/1/0 repeats the key of /seen/0",
    ],
    ["seen bad timestamp", (m) => (m.seen = [["k", "soon"]]), "field /seen/0/1"],
    ["position null", (m) => (m.position = null), "field /position is null"],
    ["start missing", (m) => delete m.start, "field /start is missing"],
    ["a field too many", (m) => (m.other = true), "field /other is not a field of this file"],
  ];
  const watchOnly: Array<[string, (m: Record<string, unknown>) => unknown, RegExp | string]> = [
    ["outbox holding null", (m) => (m.outbox = [null]), "field /outbox/0 is null"],
    ["outbox not an array", (m) => (m.outbox = {}), "field /outbox is an object"],
    [
      "an alert whose entry is not JSON (it would be spliced into the webhook body)",
      (m) =>
        (m.outbox = [
          { rule: "r", title: "t", severity: "high", time: TS, key: "k", group: null, entries: ['1,"x":{'] },
        ]),
      "field /outbox/0/entries/0",
    ],
    [
      "an alert of an unknown severity",
      (m) =>
        (m.outbox = [
          { rule: "r", title: "t", severity: "huge", time: TS, key: "k", group: null, entries: [] },
        ]),
      "field /outbox/0/severity",
    ],
    ["rule state null", (m) => (m.rules = { r: null }), "field /rules/r is null"],
    [
      "rule state windows with a bad ns",
      (m) => (m.rules = { r: { fp: "f", windows: [["g", [["x", "{}"]]]] } }),
      "field /rules/r/windows/0/1/0/0",
    ],
    [
      "rule state learnStart not a number",
      (m) => (m.rules = { r: { fp: "f", learnStart: "soon" } }),
      "field /rules/r/learnStart",
    ],
  ];
  async function refused(
    args: (ck: string) => string[],
    name: string,
    base: () => Record<string, unknown>,
    forge: (m: Record<string, unknown>) => unknown,
    field: RegExp | string,
  ) {
    const dir = join(tmp.dir, `${args === tailArgs ? "tail" : "watch"}-${name.replace(/\W/g, "-")}`);
    mkdirSync(dir);
    const ck = join(dir, "checkpoint.json");
    const m = base();
    const text = rawText(forge(m));
    writeFileSync(ck, text === undefined || text === SKIP ? JSON.stringify(m) : text);
    const before = tree(dir);
    const calls = emu.calls;
    const r = await runMain(args(ck));
    expectRefused(r, ck, field, calls);
    expect(r.stderr).toContain("delete it to start afresh");
    expect(tree(dir)).toBe(before);
  }
  it.each(common)("tail: %s", (name, forge, field) => refused(tailArgs, name, tail, forge, field));
  it.each([...common, ...watchOnly])("watch: %s", (name, forge, field) =>
    refused(watchArgs, name, watch, forge, field),
  );

  it("a folder or a FIFO in place of a checkpoint: refused at once (a FIFO is never waited on)", async () => {
    for (const args of [tailArgs, watchArgs]) {
      const dir = join(tmp.dir, `fifo-${args === tailArgs ? "tail" : "watch"}`);
      mkdirSync(dir);
      const ck = join(dir, "checkpoint.json");
      execFileSync("mkfifo", [ck]);
      const calls = emu.calls;
      const r = await runMain(args(ck));
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
      expect(r.stderr).toContain(ck);
      expect(emu.calls).toBe(calls);
    }
  });
});
