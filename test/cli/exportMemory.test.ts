/**
 * `export --memory`: `lean` (the default) stops V8's young generation at its cap, `fast` leaves it
 * to V8 (which grows it to 32 MB under the same allocations). Each mode runs in its own process, as
 * the flags are process-wide. What this saves in RSS is measured by `npm run bench`, not here.
 */
import { spawnSync } from "node:child_process";
import { YOUNG_GENERATION_CAP } from "../../packages/cli/src/cli/exportMemory.js";

function maxYoungGeneration(mode: string): number {
  const script = new URL("./exportMemoryChild.mjs", import.meta.url).pathname;
  const run = spawnSync(process.execPath, [script, mode], { encoding: "utf8", timeout: 30_000 });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
  return (JSON.parse(run.stdout) as { maxYoungGeneration: number }).maxYoungGeneration;
}

test("lean caps the young generation; fast lets V8 grow it past the cap", () => {
  expect(maxYoungGeneration("lean")).toBe(YOUNG_GENERATION_CAP);
  expect(maxYoungGeneration("fast")).toBeGreaterThan(YOUNG_GENERATION_CAP);
});
