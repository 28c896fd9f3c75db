/**
 * `clarifai-audit emulator` as a user runs it: the built CLI (dist/, `npm test` builds first) in a
 * child process, the one JSON ready line, a real search, clean exit 0 on SIGTERM; bad flags and bad
 * data files give one readable stderr line and a non-zero exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "@jest/globals";
import { waitFor } from "../helpers/waitFor.js";
import { grpcClient, grpcSearch, request, restSearch } from "./helpers.js";

const MAIN = new URL("../../packages/cli/dist/src/cli/clarifai-audit.mjs", import.meta.url).pathname;
const FIXTURE = new URL("../fixtures/seed-entries.jsonl", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, "emulator", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on("exit", (code) => reject(new Error(`emulator exited (${code}) before printing its address`)));
  });
}

test("prints one JSON line, serves gRPC and REST, exits 0 on SIGTERM", async () => {
  const { child, exit, stderr } = start([
    "--port",
    "0",
    "--rest-port",
    "0",
    "--data",
    FIXTURE,
    "--generate",
    "50",
    "--seed",
    "4",
    "--pat",
    "cli-pat=emulator-user",
    "--pat",
    "second=someone",
    "--throttle-every",
    "1000",
  ]);
  try {
    const ready = JSON.parse(await firstLine(child)) as {
      grpc: string;
      rest: string;
      pats: Record<string, string>;
    };
    expect(ready.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ready.rest).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.pats).toEqual({ "cli-pat": "emulator-user", second: "someone" });
    const client = grpcClient(ready.grpc);
    const res = await grpcSearch(client, request({ pagination: { page: 1, perPage: 1000 } }), "cli-pat");
    client.close();
    expect(res.status?.code).toBe(10000);
    expect(res.entries.length).toBe(60);
    const rest = await restSearch(ready.rest, { pagination: { per_page: 3 } }, { pat: "cli-pat" });
    expect(rest.json.entries?.length).toBe(3);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exit).toBe(0);
  expect(stderr()).not.toContain("cli-pat");
  // Informational lines keep a prefix of their own; errors have every command's (below).
  expect(stderr()).toBe(
    "clarifai-audit: emulator serving 60 entries; Ctrl-C to stop\nclarifai-audit: emulator SIGTERM, shutting down\n",
  );
});

test("--no-rest prints rest: null; -q: nothing on stderr", async () => {
  const { child, exit, stderr } = start(["--no-rest", "-q"]);
  try {
    const ready = JSON.parse(await firstLine(child)) as { rest: unknown; pats: unknown };
    expect(ready.rest).toBeNull();
    expect(ready.pats).toEqual({ "emulator-pat": "emulator-user" });
  } finally {
    child.kill("SIGINT");
  }
  expect(await exit).toBe(0);
  expect(stderr()).toBe("");
});

test("--account serves several accounts, each with its own generated log and growth", async () => {
  const { child, exit } = start([
    "--no-rest",
    "-q",
    "--account",
    "pat-a=org-a,generate=30,seed=5",
    "--account",
    "pat-b=org-b,generate=10,growth=5/10/0.5",
  ]);
  try {
    const ready = JSON.parse(await firstLine(child)) as { grpc: string; pats: Record<string, string> };
    expect(ready.pats).toEqual({ "pat-a": "org-a", "pat-b": "org-b" });
    const client = grpcClient(ready.grpc);
    const all = (pat: string) =>
      grpcSearch(
        client,
        request({ userAppId: { userId: "", appId: "" }, pagination: { page: 1, perPage: 1000 } }),
        pat,
      );
    expect((await all("pat-a")).entries.length).toBe(30);
    // org-b grows (5 entries every 10 ms) from its 10; org-a does not.
    await waitFor(async () => (await all("pat-b")).entries.length > 10, { what: "org-b's log to grow" });
    expect((await all("pat-a")).entries.length).toBe(30);
    client.close();
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exit).toBe(0);
});

test.each([
  [["--port", "70000"], /--port must be an integer between 0 and 65535/],
  [["--pat", "no-equals-sign"], /TOKEN=USER_ID/],
  [["--throttle-probability", "1.5"], /--throttle-probability must be a number between 0 and 1/],
  [["--tls-cert", "/nonexistent.pem"], /--tls-cert and --tls-key go together/],
  [
    ["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"],
    /--tls-cert \/nonexistent\.pem: cannot read/,
  ],
  [["--growth-count", "5"], /--growth-count and --growth-every-ms go together/],
  [["--account", "a=org-a,generat=5"], /expected TOKEN=USER_ID\[,generate=N\].*got 'generat=5'/],
  [["--account", "a=org-a,growth=5/10"], /got 'growth=5\/10'/],
  [
    ["--account", "a=org-a", "--account", "b=org-a"],
    /accounts\[1\]\.userId 'org-a' is already accounts\[0\]'s/,
  ],
])("bad flags %j → one stderr line, non-zero exit", async (args, why) => {
  const { exit, stderr } = start(args);
  const code = await exit;
  expect(code).toBe(2);
  expect(stderr()).toMatch(why);
  // The one error prefix of every command.
  expect(stderr()).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
});

test("a malformed --data line → file:line: reason on one stderr line, non-zero exit", async () => {
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"timestamp":"2025-01-17T12:04:55.449860Z"}\n{"operation":"NOPE"}\n');
  const { exit, stderr } = start(["--data", FIXTURE, "--data", bad]);
  expect(await exit).not.toBe(0);
  expect(stderr()).toContain(`${bad}:2: not an AuditLogEntry`);
  expect(stderr()).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
});
