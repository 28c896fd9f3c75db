#!/usr/bin/env node
/**
 * Checks that a library user can run an export into a custom sink from the packed package:
 * `npm pack`, install the tarball in an empty temporary folder, import `clarifai-audit/export`, and
 * export the emulator's log into an in-memory sink. Not part of `npm test` (it installs from the
 * registry). Usage: npm run build && node scripts/check-pack.mjs
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-pack-"));
try {
  const tgz = execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], {
    cwd: root,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .pop();
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "pack-check", private: true, type: "module" }),
  );
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", join(dir, tgz)], {
    cwd: dir,
    stdio: "inherit",
  });
  writeFileSync(
    join(dir, "run.mjs"),
    `import { AuditLogClient } from "clarifai-audit";
import { startEmulator } from "clarifai-audit/emulator";
import { exportToSink } from "clarifai-audit/export";

const emu = await startEmulator({ generate: { count: 5000, seed: 1 }, restPort: false });
const client = new AuditLogClient({ endpoint: emu.grpcAddress, insecure: true, pat: "emulator-pat", userId: "emulator-user" });
const lines = [];
let cursor;
const sink = {
  async open() { return cursor; },
  async write(batch) { lines.push(...batch.entries.map((e) => e.json())); cursor = batch.cursor; },
  async close() {},
};
const summary = await exportToSink({ client, sink, settleMs: 0, perPage: 500 });
client.close();
await emu.close();
const unique = new Set(lines).size;
console.log(JSON.stringify({ entries: summary.entries, lines: lines.length, unique, requests: summary.requests, complete: cursor.complete }));
if (lines.length !== 5000 || unique !== 5000 || !cursor.complete) process.exit(1);
`,
  );
  execFileSync(process.execPath, ["run.mjs"], { cwd: dir, stdio: "inherit" });
  console.log(`ok: ${tgz} installed in ${dir} exports into a custom sink`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
