/**
 * Connection drops under load must not crash the process. Destroying the HTTP/2 session from
 * inside Node's receive loop corrupted the heap within a few rounds (glibc abort, exit 134); the
 * emulator defers the destroy (packages/emulator/src/grpcServer.ts).
 */
import { spawnSync } from "node:child_process";

test("the emulator survives dropping connections with calls in flight", () => {
  const script = new URL("./dropChurn.mjs", import.meta.url).pathname;
  const run = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 50_000 });
  expect({ status: run.status, signal: run.signal, stderr: run.stderr.slice(-300) }).toEqual({
    status: 0,
    signal: null,
    stderr: "",
  });
  expect(JSON.parse(run.stdout)).toEqual({ settled: 320 });
});
