/**
 * End to end, as users run it: `keys generate` → `export --sign --tsa` (the emulator on loopback, a
 * local RFC 3161 authority; the built bin) → copies → tampering → `verify`. A signed JSON Lines
 * export and a gzipped JSON array one are made once; each tampering case works on a copy and must
 * be found: exit 6, one line `not verified: FILE line N: …` (--json: its kind, file, entry and
 * digest). Then inclusion proofs checked without the log, time-stamps of another authority or
 * removed, and the trust checks: no private key in anything printed, nothing written by `verify`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { digestName } from "../../packages/client/src/digest/document.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, tempDir, USER } from "../cli/helpers.js";
import { startTestTsa, type TestTsa } from "../helpers/tsa.js";
import {
  bin,
  cli,
  copyOf,
  expectNoSecretPrinted,
  expectUntouched,
  type GeneratedKey,
  generateKey,
  readDigestFile,
  resign,
  summaryOf,
} from "./endToEndHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let tsa: TestTsa;
let otherTsa: TestTsa;
let keyA: GeneratedKey;
let keyB: GeneratedKey;

const ENTRIES = 600;
const WINDOW = ["--from", "2024-12-01T00:00:00Z", "--to", "2026-06-01T00:00:00Z"];
/** The window as the digests (and verify's line) name it. */
const WINDOW_SHOWN = "2024-12-01T00:00:00Z to 2026-06-01T00:00:00Z";
const env = cliEnv();

/** A signed export made once: its file, digests, head (as export --json printed it) and entries. */
interface Made {
  dir: string;
  out: string;
  head: { seq: number; hash: string };
  /** digest name of each entry (by 0-based leaf index). */
  digestOf: string[];
}
let jsonl: Made;
let gz: Made;

function exportArgs(out: string, ...extra: string[]): string[] {
  return [
    "export",
    ...connection(emu.grpcAddress),
    "--out",
    out,
    ...WINDOW,
    "--per-page",
    "100",
    "--commit-interval",
    "0",
    "--settle",
    "0",
    "--quiet",
    "--json",
    ...extra,
  ];
}

/** `export --sign KEY --tsa URL` into a fresh folder `name` (the built bin when `child`). */
async function signedExport(
  name: string,
  file: string,
  key: GeneratedKey,
  child: boolean,
  extra: string[] = [],
): Promise<Made> {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  const out = join(dir, file);
  const args = exportArgs(out, "--sign", key.path, "--tsa", tsa.url, ...extra);
  const r = child ? await bin(args, env) : await cli(args, env);
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  const s = summaryOf(r) as { entries: number; digest: { seq: number; hash: string } };
  expect(s.entries).toBe(ENTRIES);
  const digestOf: string[] = [];
  for (let seq = 1; seq <= s.digest.seq; seq++) {
    const d = readDigestFile(join(`${out}.digests`, digestName(seq))).digest;
    for (let i = 0; i < d.entries; i++) digestOf.push(digestName(seq));
  }
  expect(digestOf).toHaveLength(ENTRIES);
  // A start commit, a commit per page at least, a final one: enough for the cases below.
  expect(s.digest.seq).toBeGreaterThanOrEqual(ENTRIES / 100 + 2);
  return { dir, out, head: s.digest, digestOf };
}

beforeAll(async () => {
  tmp = tempDir();
  [emu, tsa, otherTsa] = await Promise.all([
    startEmulator({ pats: { [PAT]: USER }, generate: { count: ENTRIES, seed: 25 }, restPort: false }),
    startTestTsa(),
    startTestTsa({ name: "another authority" }),
  ]);
  keyA = await generateKey(join(tmp.dir, "keys"), "a.key", env);
  keyB = await generateKey(join(tmp.dir, "keys"), "b.key", env);
  jsonl = await signedExport("jsonl", "audit.jsonl", keyA, true);
  gz = await signedExport("gz", "audit.json.gz", keyA, false);
}, 60_000);

afterAll(async () => {
  await Promise.all([emu?.close(), tsa?.close(), otherTsa?.close()]);
  tmp?.cleanup();
});

/** `verify PATH --key A.pub EXTRA…`, as a user reads it and with --json. */
async function verify(path: string, ...extra: string[]) {
  const human = await cli(["verify", path, "--key", keyA.pub, ...extra], env);
  const json = await cli(["verify", path, "--key", keyA.pub, "--json", ...extra], env);
  expect(json.code).toBe(human.code);
  return { human, json, report: summaryOf(json) };
}

/** Asserts `verify` finds `problem` (kind, file, entry, digest) and says it in one line, exit 6. */
async function expectProblem(
  path: string,
  problem: { kind: string; file: string; entry?: number; digest?: string },
  ...extra: string[]
): Promise<string> {
  // Even on a tampered log, verify writes nothing beside it.
  const { human, report } = await expectUntouched(dirname(path), () => verify(path, ...extra));
  expect({ code: human.code, stdout: human.stdout }).toEqual({ code: 6, stdout: "" });
  const p = report.problem as Record<string, unknown>;
  expect({ kind: p.kind, file: p.file, entry: p.entry, digest: p.digest }).toEqual(problem);
  expect(report).toMatchObject({ exitCode: 6, verified: false });
  expect(human.stderr).toBe(`not verified: ${p.message as string}\n`);
  // The line names the file (a missing digest: its folder and name) and, for an entry, its line.
  expect(human.stderr).toContain(problem.kind === "digest-missing" ? dirname(problem.file) : problem.file);
  if (problem.entry !== undefined) expect(human.stderr).toContain(` line ${problem.entry}:`);
  return human.stderr;
}

function editLines(file: string, change: (lines: string[]) => void): void {
  const lines = readFileSync(file, "utf8").split("\n");
  change(lines);
  writeFileSync(file, lines.join("\n"));
}

/** A copy of the JSON Lines export: its file and its digests folder. */
function copyJsonl(): { file: string; digests: string } {
  const dir = copyOf(tmp.dir, [jsonl.out, `${jsonl.out}.digests`]);
  const file = join(dir, "audit.jsonl");
  return { file, digests: `${file}.digests` };
}

const dn = (seq: number) => digestName(seq);
/** A digest in the middle of the chain (its length depends on how the walk split the window). */
const mid = () => Math.floor(jsonl.head.seq / 2);

describe("as made", () => {
  test("keys generate, export --sign --tsa, then verify --key --tsa-cert --expect-head: exit 0 with the counts", async () => {
    const args = [
      "verify",
      jsonl.out,
      "--key",
      keyA.pub,
      "--tsa-cert",
      tsa.tsaCertPath,
      "--expect-head",
      jsonl.head.hash,
    ];
    // The built bin, as users run it; it writes nothing beside the log.
    const human = await expectUntouched(jsonl.dir, () => bin(args, env));
    expect({ code: human.code, stdout: human.stdout }).toEqual({ code: 0, stdout: "" });
    const bytes = readFileSync(jsonl.out).length;
    expect(human.stderr).toBe(
      `verified: ${jsonl.out} (export of user ${USER}, ${WINDOW_SHOWN}): ${jsonl.head.seq} digests, 1 file, ${ENTRIES} entries, ${bytes} bytes; keys ${keyA.keyId}; head ${jsonl.head.seq} ${jsonl.head.hash}; the expected head is digest ${jsonl.head.seq} (the newest); ${jsonl.head.seq} time-stamps, ${human.stderr.match(/time-stamps, (\S+ to \S+)\n$/)?.[1]}\n`,
    );
    const json = await expectUntouched(jsonl.dir, () => cli([...args, "--json"], env));
    expect(json.code).toBe(0);
    expect(summaryOf(json)).toMatchObject({
      command: "verify",
      exitCode: 0,
      verified: true,
      log: "export",
      digests: jsonl.head.seq,
      files: 1,
      entries: ENTRIES,
      bytes,
      head: jsonl.head,
      keyIds: [keyA.keyId],
      complete: true,
      expectedHead: { ...jsonl.head, newest: true },
      timestamps: { checked: jsonl.head.seq },
    });
  }, 30_000);

  test("the gzipped JSON array export verifies (its digests over the text inside), and tampering inside is found", async () => {
    const args = ["--tsa-cert", tsa.tsaCertPath, "--expect-head", gz.head.hash];
    const { human, report } = await expectUntouched(gz.dir, () => verify(gz.out, ...args));
    expect(human.code).toBe(0);
    const text = gunzipSync(readFileSync(gz.out));
    expect(report).toMatchObject({ verified: true, entries: ENTRIES, bytes: text.length, complete: true });
    // An entry changed inside the gzip stream: its line (line 1 is the array's "[").
    const changed = copyOf(tmp.dir, [gz.out, `${gz.out}.digests`]);
    const file = join(changed, "audit.json.gz");
    const lines = text.toString("utf8").split("\n");
    lines[200] = (lines[200] as string).replace('"id":"', '"id":"X');
    expect(lines[200]).toContain('"id":"X');
    writeFileSync(file, gzipSync(lines.join("\n")));
    await expectProblem(file, { kind: "entry-changed", file, entry: 201, digest: gz.digestOf[199] });
    // The gzip stream cut short.
    const cut = join(copyOf(tmp.dir, [gz.out, `${gz.out}.digests`]), "audit.json.gz");
    const raw = readFileSync(cut);
    writeFileSync(cut, raw.subarray(0, raw.length - 200));
    const { report: r } = await verify(cut);
    expect(r.problem).toMatchObject({ kind: "file-truncated", file: cut });
  }, 30_000);
});

describe("the file tampered with: found, one line naming file, line and what", () => {
  test.each<[string, (lines: string[]) => void, string, number]>([
    [
      "an entry changed",
      (l) => l.splice(150, 1, (l[150] as string).replace('"id":"', '"id":"x')),
      "entry-changed",
      151,
    ],
    [
      "an entry inserted",
      (l) => l.splice(300, 0, (l[10] as string).replace('"id":"', '"id":"new-')),
      "entry-inserted",
      301,
    ],
    ["an entry deleted", (l) => l.splice(300, 1), "entry-deleted", 301],
    [
      "two entries swapped",
      (l) => l.splice(300, 2, l[301] as string, l[300] as string),
      "entry-reordered",
      301,
    ],
  ])("%s", async (_name, change, kind, line) => {
    const { file } = copyJsonl();
    editLines(file, change);
    await expectProblem(file, { kind, file, entry: line, digest: jsonl.digestOf[line - 1] as string });
  });

  test("truncated: cut inside a line, and at a line's end", async () => {
    const { file } = copyJsonl();
    const lines = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, `${lines.slice(0, 589).join("\n")}\n${(lines[589] as string).slice(0, 40)}`);
    await expectProblem(file, {
      kind: "file-truncated",
      file,
      entry: 590,
      digest: jsonl.digestOf[589] as string,
    });
    writeFileSync(file, `${lines.slice(0, 589).join("\n")}\n`);
    await expectProblem(file, {
      kind: "file-truncated",
      file,
      entry: 590,
      digest: jsonl.digestOf[589] as string,
    });
  });

  test("extended: a line appended", async () => {
    const { file } = copyJsonl();
    const lines = readFileSync(file, "utf8").split("\n");
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}${(lines[3] as string).replace('"id":"', '"id":"more-')}\n`,
    );
    const stderr = await expectProblem(file, {
      kind: "file-extended",
      file,
      entry: ENTRIES + 1,
      digest: dn(jsonl.head.seq),
    });
    expect(stderr).toContain(`line ${ENTRIES + 1}`);
  });

  test("replaced: bytes rewritten (CRLF line ends), and the file missing", async () => {
    const { file } = copyJsonl();
    writeFileSync(file, readFileSync(file, "utf8").replaceAll("\n", "\r\n"));
    // Each line now ends in a carriage return: the first is not the entry signed.
    await expectProblem(file, { kind: "entry-changed", file, entry: 1, digest: jsonl.digestOf[0] as string });
    rmSync(file);
    // Named by the first digest that lists it (the start commit's, of no entries).
    await expectProblem(file, { kind: "file-missing", file, entry: undefined, digest: dn(1) });
  });

  test("replaced: the file and its digests swapped for another export of the same window, signed by another key", async () => {
    // Verbose, with its request log (all of it kept for the private-key check).
    const other = await signedExport("other", "audit.jsonl", keyB, false, ["--verbose"]);
    // The same window, the same entries, the same bytes: only the key tells them apart.
    expect(readFileSync(other.out).equals(readFileSync(jsonl.out))).toBe(true);
    const { file } = copyJsonl();
    rmSync(`${file}.digests`, { recursive: true });
    const dir = copyOf(tmp.dir, [other.out, `${other.out}.digests`]);
    const stderr = await expectProblem(join(dir, "audit.jsonl"), {
      kind: "key-unknown",
      file: join(dir, "audit.jsonl.digests", dn(1)),
      entry: undefined,
      digest: dn(1),
    });
    expect(stderr).toContain(keyB.keyId);
    // And it is the key A signed one's head that is not in it.
    const { report } = await verify(
      join(dir, "audit.jsonl"),
      "--key",
      keyB.pub,
      "--expect-head",
      jsonl.head.hash,
    );
    expect(report.problem).toMatchObject({ kind: "head-not-found" });
  }, 30_000);
});

test("replaced by a genuine export of another window, signed by the same key: it verifies, and verify's line names its window; the head given earlier does not", async () => {
  const dir = join(tmp.dir, "narrow");
  mkdirSync(dir);
  const out = join(dir, "audit.jsonl");
  const r = await cli(
    exportArgs(out, "--sign", keyA.path).map((a) =>
      a === "2026-06-01T00:00:00Z" ? "2025-01-01T00:10:00Z" : a,
    ),
    env,
  );
  expect(r.code).toBe(0);
  const { human, report } = await verify(out);
  expect(human.code).toBe(0);
  expect(human.stderr).toMatch(
    new RegExp(
      `^verified: \\S+ \\(export of user ${USER}, 2024-12-01T00:00:00Z to 2025-01-01T00:10:00Z\\): `,
    ),
  );
  expect(report).toMatchObject({
    identity: { userId: USER },
    window: { from: "2024-12-01T00:00:00Z", to: "2025-01-01T00:10:00Z" },
  });
  expect((report.entries as number) < ENTRIES).toBe(true);
  const { report: pinned } = await verify(out, "--expect-head", jsonl.head.hash);
  expect(pinned.problem).toMatchObject({ kind: "head-not-found" });
});

describe("the digests tampered with", () => {
  test.each<[string, () => number[]]>([
    ["one in the middle", () => [mid()]],
    ["two in a row", () => [mid(), mid() + 1]],
    ["the first one", () => [1]],
  ])("a digest deleted: %s", async (_name, which) => {
    const seqs = which();
    const named = seqs[0] as number;
    const { file, digests } = copyJsonl();
    for (const s of seqs) unlinkSync(join(digests, dn(s)));
    const stderr = await expectProblem(file, {
      kind: "digest-missing",
      file: join(digests, dn(named)),
      entry: undefined,
      digest: dn(named),
    });
    for (const s of seqs) expect(stderr).toContain(dn(s));
  });

  test("the newest digest deleted: a shorter chain verifies; --expect-head (the head printed earlier) does not", async () => {
    const { file, digests } = copyJsonl();
    unlinkSync(join(digests, dn(jsonl.head.seq)));
    // The final commit of JSON Lines appends no bytes: what is left is a valid, shorter chain of an
    // export that looks unfinished. Only something from outside the files tells.
    const { human, report } = await verify(file);
    expect(report).toMatchObject({
      verified: true,
      digests: jsonl.head.seq - 1,
      entries: ENTRIES,
      complete: false,
    });
    expect(human.stderr).toMatch(
      new RegExp(
        `^verified: \\S+ \\(export \\(unfinished\\) of user ${USER}, \\S+ to \\S+\\): ${jsonl.head.seq - 1} digests, `,
      ),
    );
    await expectProblem(
      file,
      { kind: "head-not-found", file: digests, entry: undefined, digest: undefined },
      "--expect-head",
      jsonl.head.hash,
    );
    // The time-stamps still check: each digest left is stamped; when, the summary says.
    const stamped = await verify(file, "--tsa-cert", tsa.tsaCertPath);
    expect(stamped.report).toMatchObject({ timestamps: { checked: jsonl.head.seq - 1 } });
  });

  test("a digest edited: its signature fails", async () => {
    const { file, digests } = copyJsonl();
    const path = join(digests, dn(mid()));
    const text = readFileSync(path, "utf8");
    // Its time, a minute earlier: still a valid document, but not the one signed.
    const edited = text.replace(
      /"createdAt": ?"(\d{4}-\d\d-\d\dT\d\d):(\d\d)/,
      (_m, h, m) => `"createdAt": "${h}:${String((Number(m) + 59) % 60).padStart(2, "0")}`,
    );
    expect(edited).not.toBe(text);
    writeFileSync(path, edited);
    await expectProblem(file, { kind: "signature-invalid", file: path, entry: undefined, digest: dn(mid()) });
  });

  test("a digest re-signed with another key: key-unknown, naming it", async () => {
    const { file, digests } = copyJsonl();
    const path = join(digests, dn(mid()));
    resign(path, keyB.path);
    const stderr = await expectProblem(file, {
      kind: "key-unknown",
      file: path,
      entry: undefined,
      digest: dn(mid()),
    });
    expect(stderr).toContain(keyB.keyId);
  });

  test("the chain broken: a digest's previous hash edited, re-signed by the right key", async () => {
    const { file, digests } = copyJsonl();
    const path = join(digests, dn(mid()));
    resign(path, keyA.path, (d) => {
      if (d.previous !== null) d.previous.sha256 = "0".repeat(64);
    });
    await expectProblem(file, { kind: "chain-broken", file: path, entry: undefined, digest: dn(mid()) });
  });

  test("a file no digest is, in the digests folder", async () => {
    const { file, digests } = copyJsonl();
    writeFileSync(join(digests, "notes.txt"), "hello\n");
    const { report } = await verify(file);
    expect(report.problem).toMatchObject({ kind: "digest-invalid", file: join(digests, "notes.txt") });
    unlinkSync(join(digests, "notes.txt"));
    // One beyond the head, copied from the head: not chained.
    writeFileSync(join(digests, dn(jsonl.head.seq + 1)), readFileSync(join(digests, dn(jsonl.head.seq))));
    const beyond = await verify(file);
    expect(beyond.report.problem).toMatchObject({ kind: "digest-invalid", digest: dn(jsonl.head.seq + 1) });
  });
});

describe("time-stamps", () => {
  test("another authority's certificate: timestamp-invalid", async () => {
    const { report } = await verify(jsonl.out, "--tsa-cert", otherTsa.tsaCertPath);
    expect(report.problem).toMatchObject({ kind: "timestamp-invalid", digest: dn(1) });
  });

  test("a digest whose time-stamp was removed: timestamp-missing; without --tsa-cert it verifies", async () => {
    const { file, digests } = copyJsonl();
    const path = join(digests, dn(mid() - 1));
    const doc = readDigestFile(path);
    expect(doc.timestamp).toMatchObject({ tsa: tsa.url });
    delete doc.timestamp;
    writeFileSync(path, `${JSON.stringify(doc)}\n`);
    await expectProblem(
      file,
      { kind: "timestamp-missing", file: path, entry: undefined, digest: dn(mid() - 1) },
      "--tsa-cert",
      tsa.tsaCertPath,
    );
    expect((await verify(file)).human.code).toBe(0);
  });
});

describe("one entry", () => {
  test("verify --entry LINE > proof.json; verify --proof proof.json with the log deleted; an edited entry fails", async () => {
    const { file } = copyJsonl();
    const line = readFileSync(file, "utf8").split("\n")[345] as string;
    const made = await expectUntouched(join(file, ".."), () =>
      bin(["verify", file, "--key", keyA.pub, "--entry", line], env),
    );
    expect(made.code).toBe(0);
    expect(made.stderr).toContain("1 inclusion proofs checked");
    const proofFile = join(tmp.dir, "proof.json");
    writeFileSync(proofFile, made.stdout);
    expect(JSON.parse(made.stdout)).toMatchObject({ entry: line, leafIndex: 345, treeSize: ENTRIES });
    // The log is gone: the proof alone.
    rmSync(join(file, ".."), { recursive: true });
    expect(existsSync(file)).toBe(false);
    const ok = await bin(["verify", "--proof", proofFile, "--key", keyA.pub], env);
    expect({ code: ok.code, stdout: ok.stdout }).toEqual({ code: 0, stdout: "" });
    expect(ok.stderr).toMatch(
      new RegExp(
        `^verified: .*proof\\.json: the entry is in the signed log \\(leaf 345 of ${ENTRIES}, digest ${jsonl.head.seq} `,
      ),
    );
    // Against the head given earlier too.
    expect(
      (await cli(["verify", "--proof", proofFile, "--key", keyA.pub, "--expect-head", jsonl.head.hash], env))
        .code,
    ).toBe(0);
    const proof = JSON.parse(made.stdout) as { entry: string };
    writeFileSync(proofFile, JSON.stringify({ ...proof, entry: proof.entry.replace('"id":"', '"id":"y') }));
    const bad = await cli(["verify", "--proof", proofFile, "--key", keyA.pub], env);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/^not verified: /);
    expect(bad.stderr.trimEnd().split("\n")).toHaveLength(1);
    // Another key: not the one that signed its digest.
    writeFileSync(proofFile, made.stdout);
    expect((await cli(["verify", "--proof", proofFile, "--key", keyB.pub], env)).code).toBe(6);
  }, 30_000);
});

describe("trust", () => {
  test("the private key given where it does not belong: refused in one line naming the flag, never echoed", async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ["verify", jsonl.out, "--key", keyA.path],
        2,
        /^clarifai-audit: error: --key: \S+a\.key is a private key/,
      ],
      [
        ["verify", jsonl.out, "--key", keyA.pub, "--tsa-cert", keyA.path],
        2,
        /^clarifai-audit: error: --tsa-cert: certificate file 1 holds no PEM certificate/,
      ],
      [["verify", "--proof", keyA.path, "--key", keyA.pub], 6, /^not verified: \S+a\.key line 1 is not JSON/],
      [["verify", keyA.path, "--key", keyA.pub], 6, /^not verified: \S+a\.key\.digests does not exist/],
      [["keys", "generate", "--out", keyA.path], 2, /^clarifai-audit: error: --out: \S+a\.key exists/],
    ];
    for (const [args, code, line] of cases) {
      const r = await cli(args, env);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        args,
        code,
        stdout: "",
        stderr: expect.stringMatching(line),
      });
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });

  test("verify wrote nothing in the logs' folders; no private key in anything any command printed", () => {
    // Every copy (tampered, verified many times) holds only what the test put there.
    for (const name of readdirSync(tmp.dir).filter((n) => n.startsWith("copy-")))
      for (const f of readdirSync(join(tmp.dir, name)))
        expect(["audit.jsonl", "audit.jsonl.digests", "audit.json.gz", "audit.json.gz.digests"]).toContain(f);
    expectNoSecretPrinted([keyA, keyB]);
  });
});
