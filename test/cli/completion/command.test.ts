/**
 * `clarifai-audit completion <shell>` as a command: it prints the generated script and nothing else,
 * needs no PAT (it makes no request), refuses another shell with one line naming the three, and
 * works from the built bin as users run it.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { completionScript } from "../../../packages/cli/src/cli/completion/completionCommand.js";
import { SHELLS } from "../../../packages/cli/src/cli/completion/model.js";
import { buildProgram, packageVersion } from "../../../packages/cli/src/cli/program.js";
import { runCli, runMain } from "../helpers.js";
import { bashComplete } from "./shells.js";

const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-completion-cmd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("clarifai-audit completion", () => {
  it.each(SHELLS)(
    "%s: the script generated from the definitions on stdout, nothing else, no PAT needed",
    async (shell) => {
      const r = await runMain(["completion", shell], {});
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout).toBe(completionScript(buildProgram().program, shell, packageVersion()));
      expect(r.stdout).toContain(`completion for clarifai-audit ${packageVersion()}`);
    },
  );

  it.each([[["completion", "ksh"]], [["completion"]], [["completion", "bash", "zsh"]]])(
    "%j: one line, exit 2, nothing on stdout",
    async (argv) => {
      const r = await runMain(argv, {});
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
      if (argv[1] === "ksh") expect(r.stderr).toMatch(/bash, zsh, fish/);
    },
  );

  it("from the built bin, its bash script completes in bash", async () => {
    const r = await runCli(["completion", "bash"], { PATH: process.env.PATH });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toBe((await runMain(["completion", "bash"], {})).stdout);
    const home = join(dir, "home");
    mkdirSync(home);
    const setup = { cwd: dir, path: process.env.PATH ?? "", scratch: home };
    expect(bashComplete(r.stdout, ["clarifai-audit sy", "clarifai-audit rules "], setup)).toEqual([
      ["sync"],
      ["check", "test", "help"],
    ]);
  });
});
