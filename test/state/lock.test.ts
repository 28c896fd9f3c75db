import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLock, LockHeldError } from "../../src/state/lock.js";

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
