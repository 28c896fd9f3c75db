/**
 * `sync --dest URL` (issue 24): the flags only some destinations take are refused by the others, and
 * a stream destination without its state file, a HEC destination without its token, a bad URL or
 * format: one line naming the flag, exit 2, before any request (the emulator's call count does not
 * move) and before anything is written (the state file named is not created).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { cliEnv, runMain, startGeneratedEmulator } from "./helpers.js";

let g: Awaited<ReturnType<typeof startGeneratedEmulator>>;

beforeAll(async () => {
  g = await startGeneratedEmulator(20, 7);
}, 30_000);

afterAll(async () => {
  await g?.close();
});

describe("sync --dest: refusals before any request", () => {
  const sync = (flags: string[], env: Record<string, string> = {}) =>
    runMain(["sync", ...g.conn, "--settle", "0s", "-q", ...flags], cliEnv(env));
  const state = () => join(g.tmp.dir, `state-${Math.random().toString(36).slice(2)}.json`);

  const cases: [string, (s: string) => string[], RegExp, Record<string, string>?][] = [
    [
      "a syslog destination without --checkpoint",
      () => ["--dest", "syslog://127.0.0.1:6514"],
      /^--checkpoint: a syslog destination keeps what it delivered in a local state file: name one with --checkpoint FILE$/,
    ],
    [
      "a Splunk HEC destination without --checkpoint",
      () => ["--dest", "splunk+https://127.0.0.1:8088"],
      /^--checkpoint: a Splunk HEC destination keeps what it delivered/,
    ],
    [
      "--checkpoint for a lake",
      (s) => ["--dest", join(g.tmp.dir, "lake"), "--checkpoint", s],
      /^--checkpoint: only for syslog and Splunk HEC destinations/,
    ],
    [
      "--checkpoint for S3",
      (s) => ["--dest", "s3://audit-bucket/logs", "--checkpoint", s],
      /^--checkpoint: only for syslog and Splunk HEC destinations/,
    ],
    [
      "--ca for plain syslog",
      (s) => ["--dest", "syslog://127.0.0.1:6514", "--checkpoint", s, "--ca", s],
      /^--ca: only for a TLS destination/,
    ],
    [
      "--ca for a lake",
      (s) => ["--dest", join(g.tmp.dir, "lake"), "--ca", s],
      /^--ca: only for a TLS destination/,
    ],
    [
      "--format ocsf for a lake",
      () => ["--dest", join(g.tmp.dir, "lake"), "--format", "ocsf"],
      /^--format: ocsf is for destinations that carry events/,
    ],
    [
      "--format ocsf for an S3 lake",
      () => ["--dest", "s3://audit-bucket/logs", "--format", "ocsf"],
      // Whole: the error printer hides URL queries, so the hint must not be written as one.
      /^--format: ocsf is for destinations that carry events \(an S3 stream, `layout=stream` in the URL's query; syslog:\/\/…; splunk\+https:\/\/…\); a lake and PostgreSQL hold the entries' own columns$/,
    ],
    [
      "--format xml",
      () => ["--dest", join(g.tmp.dir, "lake"), "--format", "xml"],
      /--format.*xml.*json, ocsf|'xml' is invalid/,
    ],
    [
      "--table for S3",
      () => ["--dest", "s3://audit-bucket/logs", "--table", "t"],
      /^--table: only for a PostgreSQL destination/,
    ],
    [
      "a HEC destination without a token",
      (s) => ["--dest", "splunk+https://127.0.0.1:8088", "--checkpoint", s],
      /^--dest: a Splunk HEC destination needs its token: set CLARIFAI_AUDIT_HEC_TOKEN, or hec_token_env \/ hec_token_file in the profile$/,
    ],
    ["an S3 URL without a bucket", () => ["--dest", "s3://"], /^--dest: /],
    ["a syslog URL without a port", (s) => ["--dest", "syslog://", "--checkpoint", s], /^--dest: /],
    [
      "a HEC URL with a token in it",
      (s) => ["--dest", "splunk+https://user:secret-token@127.0.0.1:8088", "--checkpoint", s],
      /^--dest: /,
      { CLARIFAI_AUDIT_HEC_TOKEN: "x" },
    ],
  ];
  for (const [what, flags, line, env] of cases)
    it(`${what}: one line, exit 2, no request, nothing written`, async () => {
      const calls = g.emu.calls;
      const s = state();
      const r = await sync(flags(s), env);
      const lines = r.stderr.trimEnd().split("\n");
      expect({ code: r.code, stdout: r.stdout, lines: lines.length }).toEqual({
        code: 2,
        stdout: "",
        lines: 1,
      });
      expect(lines[0]?.replace(/^clarifai-audit: error: /, "")).toMatch(line);
      expect(r.stderr).not.toContain("secret-token");
      expect(g.emu.calls).toBe(calls);
      expect(existsSync(s)).toBe(false);
    });

  it("--ca naming a file that does not exist: one line, exit 2, no request", async () => {
    const calls = g.emu.calls;
    const s = state();
    const r = await sync([
      "--dest",
      "syslog+tls://127.0.0.1:6514",
      "--checkpoint",
      s,
      "--ca",
      join(g.tmp.dir, "missing.pem"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^clarifai-audit: error: --ca: [^\n]*missing\.pem[^\n]*\n$/);
    expect(g.emu.calls).toBe(calls);
    expect(existsSync(s)).toBe(false);
  });

  it("a profile's hec_token_file that others may read is refused, naming the profile and never the token", async () => {
    const config = join(g.tmp.dir, "config.yaml");
    const token = join(g.tmp.dir, "hec.token");
    writeFileSync(token, "0b6e3e2a-1c7f-4f4e-9d0a-3b1f5e6c7d8e\n", { mode: 0o644 });
    writeFileSync(config, `profiles:\n  siem:\n    hec_token_file: ${token}\n`, { mode: 0o600 });
    const calls = g.emu.calls;
    const r = await sync(
      ["--profile", "siem", "--dest", "splunk+https://127.0.0.1:8088", "--checkpoint", state()],
      { CLARIFAI_AUDIT_CONFIG: config },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^clarifai-audit: error: config file [^\n]*profile "siem"[^\n]*hec_token_file [^\n]*(mode|open)[^\n]*\n$/,
    );
    expect(r.stderr).not.toContain("0b6e3e2a");
    expect(g.emu.calls).toBe(calls);
  });
});
