/**
 * `--rate-limit` on search, export and tail, and the emulator's `--rate-limit` / `--preset`, through
 * the built CLI against an in-process emulator on loopback: bad values are one line and exit 2
 * before any call; an export told the emulator's limit is (almost) never throttled and reports its
 * requests in the summary line; CLARIFAI_RATE_LIMIT is read and checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { MAX_RATE_LIMIT_FLAG } from "../../packages/cli/src/cli/sharedFlags.js";
import { MAX_RATE_LIMIT } from "../../packages/client/src/client/rateBudget.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { CLI, cliEnv, connection, PAT, runCli, runMain, tempDir, USER } from "./helpers.js";

let emu: EmulatorHandle;
const tmp = tempDir();
beforeAll(async () => {
  emu = await startEmulator({ entries: generateEntries(3000, 11), pats: { [PAT]: USER }, restPort: false });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

const BAD = ["0", "-1", "abc", "10001", "1e3", ""];

describe("--rate-limit input", () => {
  it("the flag's bound is the client's", () => expect(MAX_RATE_LIMIT_FLAG).toBe(MAX_RATE_LIMIT));
  it.each(["search", "export", "tail"])(
    "%s refuses 0, negative, non-numeric and above 10000 with one line, exit 2",
    async (cmd) => {
      const before = emu.calls;
      const extra = cmd === "export" ? ["--out", `${tmp.dir}/x.jsonl`] : [];
      for (const bad of cmd === "search" ? BAD : ["0", "abc"]) {
        const r = await runMain([cmd, ...connection(emu.grpcAddress), ...extra, `--rate-limit=${bad}`]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toContain(
          `--rate-limit: "${bad}" is not a number of requests per second above 0 and at most 10000`,
        );
      }
      expect(emu.calls).toBe(before);
    },
  );
  it("CLARIFAI_RATE_LIMIT must be a number or off", async () => {
    const r = await runMain(
      ["search", ...connection(emu.grpcAddress)],
      cliEnv({ CLARIFAI_RATE_LIMIT: "fast" }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("CLARIFAI_RATE_LIMIT");
    const off = await runCli(
      ["search", ...connection(emu.grpcAddress), "--per-page", "1"],
      cliEnv({ CLARIFAI_RATE_LIMIT: "off" }),
    );
    expect(off.code).toBe(0);
  });
  it("the emulator refuses a bad --rate-limit or --preset with one line, exit 2", async () => {
    for (const args of [
      ["--rate-limit", "0"],
      ["--rate-limit", "10001"],
      ["--rate-limit", "2.5"],
      ["--preset", "aws"],
    ]) {
      const r = await runMain(["emulator", ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(args[0]);
    }
  });
});

describe("an export told the emulator's limit", () => {
  it("is spread under it and reports requests, throttled and rate in the summary line", async () => {
    emu.setRateLimit(25);
    const calls = emu.calls;
    const limited = emu.rateLimited;
    const out = `${tmp.dir}/paced.jsonl`;
    const r = await runCli([
      "export",
      ...connection(emu.grpcAddress),
      "--out",
      out,
      "--from",
      "2020-01-01T00:00:00Z",
      "--per-page",
      "100",
      "--rate-limit",
      "25",
    ]);
    emu.setRateLimit(undefined);
    expect(r.code).toBe(0);
    const m =
      /requests (\d+) \(served (\d+), throttled (\d+)\), [\d.]+ requests\/s over [\d.]+ s \([\d.]+ s with none waiting\), limit 25\/s/.exec(
        r.stderr,
      );
    expect(m).not.toBeNull();
    const [requests, served, throttled] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    expect(requests).toBe(emu.calls - calls);
    expect(throttled).toBe(emu.rateLimited - limited);
    expect(served + throttled).toBe(requests);
    expect(requests).toBeGreaterThanOrEqual(30);
    expect(throttled / requests).toBeLessThanOrEqual(0.05);
  });
});

it("the built CLI exists", () => expect(CLI).toMatch(/clarifai-audit\.mjs$/));
