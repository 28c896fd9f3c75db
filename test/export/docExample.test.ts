/**
 * The custom-sink example of docs/library.md is this repository's test/export/customSinkExample.ts
 * (imports aside), and it runs: every entry of the emulator's log exactly once.
 */
import { readFileSync } from "node:fs";
import { jest } from "@jest/globals";
import { generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { runExample } from "./customSinkExample.js";

it("docs/library.md shows the example's code as it is", () => {
  const doc = readFileSync(new URL("../../docs/library.md", import.meta.url), "utf8");
  const code = readFileSync(new URL("./customSinkExample.ts", import.meta.url), "utf8")
    .replace('from "../../packages/client/src/index.js";', 'from "clarifai-audit";')
    .replace('from "../../packages/client/src/export/index.js";', 'from "clarifai-audit/export";');
  expect(doc).toContain(`\`\`\`ts\n${code}\`\`\``);
});

it("the example exports every entry once", async () => {
  const entries = generateEntries(300, 2);
  const emu = await startEmulator({ entries, restPort: false });
  const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
  try {
    const lines = await runExample(emu.grpcAddress);
    expect(lines).toHaveLength(300);
    expect(new Set(lines).size).toBe(300);
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^300 entries in \d+ requests$/));
  } finally {
    log.mockRestore();
    await emu.close();
  }
});
