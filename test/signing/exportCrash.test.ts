/**
 * `export --sign` killed and resumed (the built bin: `npm run build` first), against the emulator on
 * loopback: SIGKILL at each step of a signed commit (`export.digest-written`, `export.committed`,
 * packages/client/src/state/crashPoint.ts), the final commit included, and at random points while
 * the log grows with late entries; SIGINT; key rotation across resumes. After each kill the committed
 * chain describes exactly the committed part of the partial file (at most one digest beyond the
 * manifest's head); after the last `--resume`: every entry once, digests 1..N with no gap, none
 * beyond the head, ranges tiling the file exactly. Resume refusals: one line, exit 2, nothing written.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { LeafFormat } from "../../packages/client/src/digest/leaves.js";
import { seededRandom, snapshot, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  type BinProcess,
  crashChain,
  spawnBin,
  startAccounts,
} from "../collector/harness.js";
import {
  checkExportDigests,
  checkInterrupted,
  exportBytes,
  manifestOf,
  type TestKey,
  verified,
  writeKey,
} from "./exportDigests.js";

const TOTAL = 3_000;
let tmp: ReturnType<typeof tempDir>;
let emulator: AccountsEmulator;
let a: TestKey;
let b: TestKey;
let c: TestKey;

beforeAll(async () => {
  tmp = tempDir();
  a = writeKey(join(tmp.dir, "a.key"));
  b = writeKey(join(tmp.dir, "b.key"));
  c = writeKey(join(tmp.dir, "c.key"));
  emulator = await startAccounts([{ id: "x", count: TOTAL, seed: 5, growth: false }], {
    faults: { latencyMs: 10 },
  });
});
afterAll(async () => {
  await emulator.close();
  tmp.cleanup();
});

function env(): Record<string, string> {
  const acc = emulator.account("x");
  return emulator.env({ CLARIFAI_PAT: acc.pat, CLARIFAI_USER_ID: acc.userId });
}

const args = (out: string, extra: string[]) => [
  "export",
  "--endpoint",
  emulator.endpoint,
  "--insecure",
  "--out",
  out,
  "--per-page",
  "250",
  "--concurrency",
  "1",
  "--commit-interval",
  "0",
  "--settle",
  "0",
  "--quiet",
  ...extra,
];

/** Runs the export (resuming when a manifest is there), killed at `crashAt` when given. */
function run(out: string, keys: readonly TestKey[], crashAt?: string): BinProcess {
  const resume = manifestOf(out) !== undefined ? ["--resume"] : [];
  const sign = keys.flatMap((k) => ["--sign", k.path]);
  return spawnBin(args(out, [...sign, ...resume]), env(), crashAt === undefined ? {} : { crashAt });
}

function folder(name: string): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  return dir;
}

/** The finished export holds each of the account's entries once, in order, and its digests check out. */
async function checkFinished(out: string, format: LeafFormat, keys: readonly TestKey[]) {
  expect(existsSync(`${out}.manifest.json`)).toBe(false);
  expect(existsSync(`${out}.partial`)).toBe(false);
  const bytes = exportBytes(out);
  const checked = await checkExportDigests(
    out,
    format,
    bytes,
    keys.map((k) => k.verifying),
  );
  const text = bytes.toString("utf8");
  const lines =
    format === "json"
      ? (JSON.parse(text) as unknown[]).map((e) => JSON.stringify(e))
      : text.split("\n").filter((l) => l !== "");
  expect(new Set(lines).size).toBe(lines.length);
  expect(checked.entries).toBe(lines.length);
  expect(checked.digests.at(-1)?.digest.complete).toBe(true);
  const report = await verified(
    out,
    keys.map((k) => k.verifying),
  );
  expect(report).toMatchObject({ entries: lines.length, head: checked.head, complete: true });
  return { checked, lines };
}

it("SIGKILL at each step of a signed commit, then --resume: the chain continues, every entry once", async () => {
  const out = join(folder("points"), "p.jsonl");
  const steps = [
    // The start commit's digest, no manifest yet: the next run starts over (it was never committed).
    "export.digest-written:1",
    "export.committed:1",
    // A page's digest written, its manifest not: resume deletes it and fetches the page again.
    "export.digest-written:2",
    "export.committed:2",
    "export.digest-written:1",
    "export.committed:3",
  ];
  const outcomes = await crashChain(
    steps,
    (crashAt) => run(out, [a], crashAt),
    async (o) => {
      if (o.crashAt === "") return;
      expect({ crashAt: o.crashAt, signal: o.signal }).toEqual({ crashAt: o.crashAt, signal: "SIGKILL" });
      await checkInterrupted(out, "jsonl", [a.verifying]);
    },
  );
  expect(outcomes.at(-1)).toMatchObject({ code: 0 });
  const { lines } = await checkFinished(out, "jsonl", [a]);
  expect(lines).toEqual(emulator.lines("x"));
});

it("SIGKILL at the final commit's digest and manifest (json, gzip), then --resume", async () => {
  const reference = join(folder("reference"), "r.json.gz");
  expect((await run(reference, [a]).exit).code).toBe(0);
  const n = (await checkFinished(reference, "json", [a])).checked.digests.length;
  const out = join(folder("final"), "f.json.gz");
  // A fresh run's n-th commit is its last (the footer); a resume of it has only that commit to make.
  const outcomes = await crashChain(
    [`export.digest-written:${n}`, "export.committed:1"],
    (crashAt) => run(out, [a], crashAt),
    async (o) => {
      if (o.crashAt === "") return;
      expect({ crashAt: o.crashAt, signal: o.signal }).toEqual({ crashAt: o.crashAt, signal: "SIGKILL" });
      await checkInterrupted(out, "json", [a.verifying]);
    },
  );
  expect(outcomes.at(-1)).toMatchObject({ code: 0 });
  const { checked } = await checkFinished(out, "json", [a]);
  expect(checked.entries).toBe(TOTAL);
  expect(exportBytes(out).equals(exportBytes(reference))).toBe(true);
});

it("SIGINT, then resumes rotating keys (A; A and B; B): one digest signed by both; a wrong key or none is refused", async () => {
  const dir = folder("rotation");
  const out = join(dir, "k.ocsf.jsonl");
  const first = await run(out, [a], "export.committed:3:SIGINT").exit;
  expect(first.code).toBe(130);
  await checkInterrupted(out, "ocsf", [a.verifying]);
  const h1 = manifestOf(out)?.digest?.seq as number;

  const before = snapshot(dir);
  const wrong = await run(out, [c]).exit;
  expect({ code: wrong.code, stderr: wrong.stderr }).toEqual({
    code: 2,
    stderr: expect.stringMatching(
      new RegExp(
        `^clarifai-audit: error: --sign: the chain's newest digest \\(\\d{12}\\.json\\) is signed by key ${a.verifying.keyId}, not by ${c.verifying.keyId}; to change keys, sign one run with both the old and the new key\\n$`,
      ),
    ),
  });
  const unsigned = await run(out, []).exit;
  expect({ code: unsigned.code, stderr: unsigned.stderr }).toEqual({
    code: 2,
    stderr: expect.stringMatching(
      /^clarifai-audit: error: the interrupted export of \S+ is signed \(\S+\.digests\); resume it with --sign and its key, or pass --force to start over\n$/,
    ),
  });
  expect(snapshot(dir)).toBe(before);

  const both = await run(out, [a, b], "export.committed:3:SIGINT").exit;
  expect(both.code).toBe(130);
  await checkInterrupted(out, "ocsf", [a.verifying, b.verifying]);
  const h2 = manifestOf(out)?.digest?.seq as number;
  const last = await run(out, [b]).exit;
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  const { checked } = await checkFinished(out, "ocsf", [a, b]);
  expect(checked.entries).toBe(TOTAL);
  const signers = checked.digests.map((d) => d.digest.keyIds.join("+"));
  const [ka, kb] = [a.verifying.keyId, b.verifying.keyId];
  expect(h1).toBeGreaterThanOrEqual(3);
  expect(h2).toBeGreaterThan(h1);
  expect(new Set(signers.slice(0, h1))).toEqual(new Set([ka]));
  expect(new Set(signers.slice(h1, h2))).toEqual(new Set([`${ka}+${kb}`]));
  expect(new Set(signers.slice(h2))).toEqual(new Set([kb]));
  // Without B's public key, the chain does not check.
  await expect(checkExportDigests(out, "ocsf", exportBytes(out), [a.verifying])).rejects.toThrow(
    /signed by unknown key/,
  );
  await expect(verified(out, [a.verifying])).rejects.toThrow(/not verified|unknown|key/);
});

it("an interrupted unsigned export is not resumed signed (one line, exit 2, nothing written)", async () => {
  const dir = folder("unsigned");
  const out = join(dir, "u.jsonl");
  expect((await run(out, [], "export.committed:2:SIGINT").exit).code).toBe(130);
  const before = snapshot(dir);
  const r = await run(out, [a]).exit;
  expect({ code: r.code, stderr: r.stderr }).toEqual({
    code: 2,
    stderr: expect.stringMatching(
      /^clarifai-audit: error: --sign: the interrupted export of \S+ is not signed; resume it without --sign, or pass --force to start over signed\n$/,
    ),
  });
  expect(snapshot(dir)).toBe(before);
  expect((await run(out, []).exit).code).toBe(0);
  expect(existsSync(`${out}.digests`)).toBe(false);
});

it("SIGKILL at random points while the log grows with late entries, then --resume: every entry once", async () => {
  const out = join(folder("random"), "g.json");
  const initial = new Set(emulator.lines("x"));
  emulator.setGrowth("x", { count: 4, everyMs: 40, lateFraction: 0.5 });
  const random = seededRandom(2507);
  let killed = 0;
  try {
    for (let round = 0; round < 5; round++) {
      if (existsSync(out)) break;
      const p = run(out, [a]);
      const timer = setTimeout(() => p.signal("SIGKILL"), 250 + Math.floor(random() * 900));
      const r = await p.exit;
      clearTimeout(timer);
      if (r.signal === "SIGKILL") killed++;
      else expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      await checkInterrupted(out, "json", [a.verifying]);
    }
  } finally {
    emulator.stopGrowth();
  }
  expect(killed).toBeGreaterThan(0);
  if (!existsSync(out)) expect((await run(out, [a]).exit).code).toBe(0);
  const { lines } = await checkFinished(out, "json", [a]);
  const got = new Set(lines.map((l) => JSON.stringify(JSON.parse(l))));
  const canonical = [...initial].map((l) => JSON.stringify(JSON.parse(l)));
  expect(canonical.filter((l) => !got.has(l))).toEqual([]);
});
