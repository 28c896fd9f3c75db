/**
 * `watch` against webhooks that misbehave, end to end (the built CLI, the emulator, real HTTP servers
 * on 127.0.0.1): an endless 200 body is cut at 64 KiB and the alert delivered; a webhook that never
 * answers does not keep SIGTERM from stopping the process (the alert is dead-lettered). Nothing here
 * times the process: a hang fails by the test's timeout.
 */
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { collect, connection, PAT, spawnCli, tempDir, USER } from "./helpers.js";
import { BASE_ISO, entry } from "./watchHelpers.js";

const MODEL_DELETE = 302;
let emu: EmulatorHandle;
let tmp: ReturnType<typeof tempDir>;
let rules: string;

beforeAll(async () => {
  tmp = tempDir();
  rules = join(tmp.dir, "rules.yaml");
  writeFileSync(
    rules,
    "rules:\n  - id: model-deleted\n    severity: high\n    match: { operations: [MODEL_DELETE] }\n",
  );
  emu = await startEmulator({
    pats: { [PAT]: USER },
    entries: [entry(10, { operation: MODEL_DELETE })],
    restPort: false,
  });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function watchArgs(url: string, deadLetter: string, extra: string[] = []): string[] {
  return [
    "watch",
    ...connection(emu.grpcAddress),
    "--rules",
    rules,
    "--from",
    BASE_ISO,
    "--alert-webhook",
    url,
    "--alert-timeout",
    "10m",
    "--alert-attempts",
    "1",
    "--dead-letter",
    deadLetter,
    ...extra,
  ];
}

it("an endless 200 body: 64 KiB read, the alert delivered, watch --once exits 0", async () => {
  let written = 0;
  let closed = false;
  const server = createServer((req, res) => {
    req.resume();
    req.socket.once("close", () => {
      closed = true;
    });
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024, 0x62);
    const pump = () => {
      while (!res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
  const url = await listen(server);
  try {
    const deadLetter = join(tmp.dir, "endless.dead-letter.jsonl");
    const r = await collect(spawnCli(watchArgs(url, deadLetter, ["--once"])));
    expect({ code: r.code, lines: r.stdout.split("\n").filter((l) => l).length }).toEqual({
      code: 0,
      lines: 1,
    });
    expect(r.stderr).toContain("1 alert(s), 0 dead-lettered");
    expect(closed).toBe(true);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  } finally {
    await close(server);
  }
}, 120_000);

it("a webhook that never answers: SIGTERM stops watch, the alert dead-lettered", async () => {
  let requested: () => void = () => undefined;
  const got = new Promise<void>((resolve) => {
    requested = resolve;
  });
  const server = createServer((req) => {
    req.resume();
    requested();
  });
  const url = await listen(server);
  try {
    const deadLetter = join(tmp.dir, "silent.dead-letter.jsonl");
    const child = spawnCli(watchArgs(url, deadLetter));
    const result = collect(child);
    await got;
    child.kill("SIGTERM");
    const r = await result;
    expect(r.signal).toBeNull();
    expect(r.stderr).toMatch(/not delivered to webhook:.* interrupted \(SIGINT\/SIGTERM\) before an answer/);
    const dead = JSON.parse(readFileSync(deadLetter, "utf8").trim()) as { error: string };
    expect(dead.error).toBe("interrupted (SIGINT/SIGTERM) before an answer");
  } finally {
    await close(server);
  }
}, 120_000);
