/**
 * The package's bin is the built CLI itself: npm (and `npx clarifai-audit` inside this repository)
 * execute the file through its shebang, so the build must leave it executable.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI } from "./helpers.js";

it("is the package's bin", () => {
  const { bin } = JSON.parse(readFileSync("packages/cli/package.json", "utf8")) as {
    bin: Record<string, string>;
  };
  expect(join(process.cwd(), "packages/cli", bin["clarifai-audit"] as string)).toBe(CLI);
});

it("runs as an executable through its shebang, right after the build", () => {
  accessSync(CLI, constants.X_OK);
  const run = spawnSync(CLI, ["--version"], { encoding: "utf8" });
  expect(run.error).toBeUndefined();
  expect(run.status).toBe(0);
  const { version } = JSON.parse(readFileSync("packages/cli/package.json", "utf8")) as { version: string };
  expect(run.stdout.trim()).toBe(version);
});
