/**
 * `clarifai-audit export` of a 100k-entry log against the emulator: the exported set equals the
 * reference set (count and SHA-256 of the sorted canonical lines), oldest first, at concurrency 1,
 * the default and 16, and with V8's GC defaults (`--memory fast`). Smaller exports (formats, round trip, refusals) are in exportFormats.test.ts.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import {
  expectOrdered,
  fileLines,
  type GeneratedEmulator,
  runCli,
  setDigest,
  startGeneratedEmulator,
  type tempDir,
} from "./helpers.js";

const COUNT = 100_000;
const SEED = 5;
let conn: string[];
let sorted: AuditLogEntry[];
let tmp: ReturnType<typeof tempDir>;

let generated: GeneratedEmulator;
beforeAll(async () => {
  generated = await startGeneratedEmulator(COUNT, SEED);
  ({ conn, sorted, tmp } = generated);
});
afterAll(() => generated.close());

it.each([
  ["the default settings", []],
  ["--concurrency 1", ["--concurrency", "1"]],
  ["--concurrency 16", ["--concurrency", "16"]],
  ["--memory fast", ["--memory", "fast"]],
])(`exports all ${COUNT} entries with %s, equal to the reference set, oldest first`, async (_, flags) => {
  const out = join(tmp.dir, `all-${flags.join("")}.jsonl`);
  const r = await runCli(["export", ...conn, "--out", out, ...flags]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^exporting window from \S+ to \S+ \(UTC, oldest first\)\n/);
  expect(r.stderr).toMatch(new RegExp(`exported ${COUNT} entries in \\d+ pages to .*all-\\S*\\.jsonl`));
  const lines = fileLines(out);
  expect(setDigest(lines)).toEqual(setDigest(sorted.map(entryToJsonLine)));
  expectOrdered(lines);
  expect(existsSync(`${out}.manifest.json`)).toBe(false);
  expect(existsSync(`${out}.partial`)).toBe(false);
});
