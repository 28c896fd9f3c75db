// Child process of dropChurn.test.ts: an in-process emulator dropping every 3rd call's connection
// while a client keeps 8 calls in flight. A heap corruption aborts this process (exit 134), so it
// runs apart from the test runner. Uses the built package (dist/).

import { AuditLogClient } from "../../packages/client/dist/src/index.js";
import { startEmulator } from "../../packages/emulator/dist/src/index.js";

const emu = await startEmulator({ pats: { p: "u" }, generate: { count: 500, seed: 1 } });
emu.setFaults({ dropConnectionEvery: 3 });
let settled = 0;
for (let round = 0; round < 40; round++) {
  const client = new AuditLogClient({
    pat: "p",
    userId: "u",
    endpoint: emu.grpcAddress,
    insecure: true,
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
  const calls = Array.from({ length: 8 }, (_, i) => client.search({ perPage: 20, page: 1 + i }));
  settled += (await Promise.allSettled(calls)).length;
  client.close();
}
await emu.close();
process.stdout.write(`${JSON.stringify({ settled })}\n`);
