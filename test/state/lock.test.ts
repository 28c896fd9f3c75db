import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { acquireLock, LockHeldError } from "../../packages/client/src/state/lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("a second taker is refused while the first holds the lock, and succeeds after release", async () => {
  const target = join(dir, "out.jsonl");
  const first = await acquireLock(target);
  expect(JSON.parse(await readFile(`${target}.lock`, "utf8"))).toMatchObject({
    pid: process.pid,
    host: hostname(),
  });
  await expect(acquireLock(target)).rejects.toBeInstanceOf(LockHeldError);
  await expect(acquireLock(target)).rejects.toThrow(
    `${target}.lock is locked by another process (pid ${process.pid}`,
  );
  await first.release();
  await first.release();
  const second = await acquireLock(target);
  await second.release();
});

it("a lock whose owner was killed is taken over", async () => {
  const target = join(dir, "state.json");
  // A real process that exits: its pid is then free (not reused this quickly in practice).
  const child = spawn(process.execPath, ["-e", ""]);
  const pid = await new Promise<number>((resolve) => child.on("exit", () => resolve(child.pid as number)));
  await writeFile(`${target}.lock`, JSON.stringify({ pid, host: hostname() }));
  const lock = await acquireLock(target);
  expect(JSON.parse(await readFile(`${target}.lock`, "utf8")).pid).toBe(process.pid);
  await lock.release();
});

it("a lock from another host is held (its owner cannot be checked)", async () => {
  const target = join(dir, "state.json");
  await writeFile(`${target}.lock`, JSON.stringify({ pid: 1, host: "elsewhere.example" }));
  await expect(acquireLock(target)).rejects.toThrow("pid 1 on elsewhere.example");
});

it("an unreadable lock is held while fresh (its owner may be writing it) and stale once old", async () => {
  const target = join(dir, "state.json");
  await writeFile(`${target}.lock`, "");
  await expect(acquireLock(target)).rejects.toBeInstanceOf(LockHeldError);
  const old = new Date(Date.now() - 60_000);
  await utimes(`${target}.lock`, old, old);
  const lock = await acquireLock(target);
  await lock.release();
});

it("many takers of one stale lock at once: exactly one gets it, the rest are refused", async () => {
  const child = spawn(process.execPath, ["-e", ""]);
  const dead = await new Promise<number>((resolve) => child.on("exit", () => resolve(child.pid as number)));
  for (let round = 0; round < 20; round++) {
    const target = join(dir, `race-${round}.json`);
    await writeFile(`${target}.lock`, JSON.stringify({ pid: dead, host: hostname() }));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(target)));
    const won = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected" && r.reason instanceof LockHeldError);
    expect([won.length, refused.length]).toEqual([1, 7]);
    expect(JSON.parse(await readFile(`${target}.lock`, "utf8")).pid).toBe(process.pid);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    expect(await readdir(dir)).not.toContain(`race-${round}.json.lock`);
  }
});

it("a taker killed at any point leaves no lock or a complete one, never a lock that blocks the next taker", async () => {
  // The lock module as a program of its own (esbuild, as the CLI bundle is built), killed by SIGKILL
  // at random points of a loop that takes and releases the lock.
  const program = join(dir, "taker.mjs");
  await build({
    entryPoints: [new URL("../../packages/client/src/state/lock.ts", import.meta.url).pathname],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: join(dir, "lock.mjs"),
    logLevel: "silent",
  });
  await writeFile(
    program,
    `import { acquireLock } from "./lock.mjs";
     const target = process.argv[2];
     process.stdout.write("ready\\n");
     for (;;) { const l = await acquireLock(target); await l.release(); }`,
  );
  const target = join(dir, "kill.json");
  for (let round = 0; round < 12; round++) {
    const taker = spawn(process.execPath, [program, target], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => taker.stdout.once("data", () => resolve()));
    await new Promise((r) => setTimeout(r, Math.random() * 40));
    const exited = new Promise((resolve) => taker.on("exit", resolve));
    taker.kill("SIGKILL");
    await exited;
    // Whatever the kill interrupted, the next taker gets the lock at once, and private files are gone.
    const lock = await acquireLock(target);
    await lock.release();
    expect((await readdir(dir)).filter((n) => n.startsWith(".kill.json"))).toEqual([]);
  }
});
