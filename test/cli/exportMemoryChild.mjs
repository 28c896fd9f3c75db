// Child of exportMemory.test.ts: applies `export --memory <mode>` (argv[2]) in a fresh process, then
// allocates as an export does (pages of small objects that stay alive while a few more arrive),
// and prints the largest young generation seen.
import v8 from "node:v8";

const { tuneMemoryForExport } = await import(
  new URL("../../packages/cli/dist/src/cli/exportMemory.js", import.meta.url).href
);
const memory = tuneMemoryForExport(process.argv[2]);
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
let max = 0;
const inFlight = [];
for (let page = 0; page < 400; page++) {
  const entries = [];
  for (let i = 0; i < 2000; i++) entries.push({ i, page, text: `entry ${i} of page ${page}` });
  inFlight.push(entries);
  if (inFlight.length > 16) inFlight.shift();
  memory.afterPage();
  max = Math.max(max, young());
}
process.stdout.write(JSON.stringify({ maxYoungGeneration: max }));
