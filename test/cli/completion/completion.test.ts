/**
 * `clarifai-audit completion bash|zsh|fish`: the scripts are generated from the command definitions
 * and run here in the real shells. The cases are built from the definitions too (commander's own
 * objects and `--help`), so a command or flag added later is checked without touching this file:
 * for every command, `clarifai-audit <cmd> --` offers exactly the long flags its --help lists;
 * every choice-valued flag offers its choices; --operation the client's operation names; path-valued
 * flags files (folders for a folder); free-text flags nothing; --profile the names a
 * `clarifai-audit config list --names` prints when completing, hostile ones offered as data, not run.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { type Command, Option } from "commander";
import { completionScript } from "../../../packages/cli/src/cli/completion/completionCommand.js";
import { allCommands, completionModel, type Shell } from "../../../packages/cli/src/cli/completion/model.js";
import { buildProgram } from "../../../packages/cli/src/cli/program.js";
import { OPERATIONS } from "../../../packages/client/src/domain/operations.js";
import { bashComplete, fishComplete, type ShellSetup, zshComplete } from "./shells.js";

/** Profile names the fake program prints: one with a space, two that would run a command if evaluated. */
const PROFILES = ["prod", "my profile", "$(touch pwned-dollar)", "`touch pwned-backtick`"];

/**
 * The real program, with what the test needs that a definition may not have yet: a hidden flag
 * (as a deprecated name is), a `--profile <name>` on `search` if no command declares one, and a
 * command whose argument is a `[profile]` if none has one.
 */
function testProgram(): Command {
  const { program } = buildProgram();
  const search = program.commands.find((c) => c.name() === "search") as Command;
  search.addOption(new Option("--hidden-old-name <x>", "a deprecated flag").hideHelp());
  const hasProfile = allCommands(completionModel(program, [])).some((c) =>
    c.flags.some((f) => f.value?.kind === "profiles"),
  );
  if (!hasProfile) search.option("--profile <name>", "the profile");
  const all = commandsOf(program).map((c) => c.cmd);
  if (!all.some((c) => c.registeredArguments.some((a) => a.name() === "profile")))
    program
      .command("test-profile")
      .argument("[profile]", "a profile")
      .action(() => {});
  return program;
}

/** A command's long flags as its --help lists them (independently of the completion model). */
function helpLongFlags(cmd: Command): string[] {
  const help = cmd.helpInformation();
  const options = help.slice(help.indexOf("Options:"), help.indexOf("\nCommands:") + 1 || undefined);
  return [...options.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1] as string);
}

function commandsOf(cmd: Command, path: string[] = []): { cmd: Command; path: string[] }[] {
  return [{ cmd, path }, ...cmd.commands.flatMap((c) => commandsOf(c, [...path, c.name()]))];
}

const strip = (c: string) => c.replace(/\/$/, "").replace(/\\(.)/g, "$1");
const sorted = (list: readonly string[]) => [...new Set(list.map(strip))].sort();

interface Case {
  line: string;
  /** The candidates expected, compared as a set (folders without their trailing /, unescaped). */
  expected: readonly string[];
  /** A `--flag=value` line: candidates are compared after their `=` (bash and fish repeat the flag). */
  afterEquals?: boolean;
}

const program = testProgram();
const operations = [...OPERATIONS.keys()].filter((n) => n.startsWith("MODEL_")).sort();
const FILES = ["a file.txt", "b.jsonl", "sub"];
const FOLDERS = ["sub"];

/** What a value named `name` (a flag's placeholder, an argument's name) must complete to. */
function expectedValues(
  name: string,
  choices: readonly string[] | undefined,
  flag?: string,
): readonly string[] {
  if (choices !== undefined) return choices;
  if (flag === "--profile" || name === "profile") return PROFILES;
  if (name === "file" || name === "path") return FILES;
  if (name === "dir" || name === "dir|url") return FOLDERS;
  return [];
}

const cases: Case[] = [];
const pathValued: string[] = [];
for (const { cmd, path } of commandsOf(program)) {
  const at = ["clarifai-audit", ...path].join(" ");
  cases.push({ line: `${at} --`, expected: helpLongFlags(cmd) });
  for (const option of cmd.options) {
    if (option.hidden || option.long === undefined || !(option.required || option.optional)) continue;
    const line = `${at} ${option.long} `;
    if (option.long === "--operation") {
      cases.push({ line: `${line}MODEL_`, expected: operations });
      continue;
    }
    const name = (/[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1] ?? "").replace(/\.\.\.$/, "");
    const expected = expectedValues(name, option.argChoices, option.long);
    if (expected === FILES || expected === FOLDERS) pathValued.push(`${at} ${option.long}`);
    cases.push({ line, expected });
  }
  const argument = cmd.registeredArguments[0];
  if (argument !== undefined && cmd.commands.length === 0) {
    const expected = expectedValues(argument.name(), argument.argChoices);
    if (expected === FILES || expected === FOLDERS) pathValued.push(`${at} <${argument.name()}>`);
    cases.push({ line: `${at} `, expected });
  }
}
cases.push(
  { line: "clarifai-audit ", expected: program.commands.map((c) => c.name()).concat("help") },
  { line: "clarifai-audit sy", expected: ["sync"] },
  // commander's own `help [command]` (not in .commands): the commands beside it.
  { line: "clarifai-audit help ", expected: program.commands.map((c) => c.name()) },
  { line: "clarifai-audit rules help ", expected: ["check", "test"] },
  { line: "clarifai-audit rules ", expected: ["check", "test", "help"] },
  { line: "clarifai-audit search --operation MODEL_CREATE --for", expected: ["--format"] },
  { line: "clarifai-audit export --out b.jsonl --memory ", expected: ["lean", "fast"] },
  { line: "clarifai-audit search --hidden-old", expected: [] },
  { line: "clarifai-audit export --memory=", expected: ["lean", "fast"], afterEquals: true },
  { line: "clarifai-audit export --out=b.", expected: ["b.jsonl"], afterEquals: true },
);

const COMPLETERS = [
  ["bash", bashComplete],
  ["fish", fishComplete],
  ["zsh", zshComplete],
] as const;

/** The line that completes a profile name. */
const profileLine = (cases.find((c) => c.expected === PROFILES) as Case).line;

let dir: string;
let setup: ShellSetup;
const scripts = new Map<Shell, string>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clarifai-audit-completion-"));
  const cwd = join(dir, "cwd");
  const bin = join(dir, "bin");
  for (const d of [cwd, join(cwd, "sub"), bin, join(dir, "home")]) mkdirSync(d);
  writeFileSync(join(cwd, "a file.txt"), "");
  writeFileSync(join(cwd, "b.jsonl"), "");
  // The fake program: logs each call; prints the profiles for `config list --names` (or fails when asked).
  writeFileSync(
    join(bin, "clarifai-audit"),
    `#!/bin/sh\necho "$*" >> ${JSON.stringify(join(dir, "calls.log"))}\n` +
      `[ -n "$FAKE_FAIL" ] && { echo "clarifai-audit: error: unknown command 'config'" >&2; exit 2; }\n` +
      `[ "$*" = "config list --names" ] && printf '%s\\n' ${PROFILES.map((p) => `'${p}'`).join(" ")}\nexit 0\n`,
  );
  chmodSync(join(bin, "clarifai-audit"), 0o755);
  setup = { cwd, path: `${bin}:${process.env.PATH ?? ""}`, scratch: join(dir, "home") };
  for (const shell of ["bash", "zsh", "fish"] as const)
    scripts.set(shell, completionScript(program, shell, "0.0.0"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => rmSync(join(dir, "calls.log"), { force: true }));

function check(answers: string[][]): void {
  const wrong = cases.flatMap((c, i) => {
    const got = sorted((answers[i] ?? []).map((a) => (c.afterEquals ? a.slice(a.indexOf("=") + 1) : a)));
    const ok = got.join(" ") === sorted(c.expected).join(" ");
    return ok ? [] : [{ line: c.line, expected: sorted(c.expected), got }];
  });
  expect(wrong).toEqual([]);
  // Completing ran nothing but `clarifai-audit config list --names` (for --profile), and ran no profile name.
  const calls = readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n");
  expect(new Set(calls)).toEqual(new Set(["config list --names"]));
  expect(existsSync(join(setup.cwd, "pwned-dollar")) || existsSync(join(setup.cwd, "pwned-backtick"))).toBe(
    false,
  );
}

describe("the completion scripts, run in the shells", () => {
  it("cover every command, flag and path-valued flag of the definitions", () => {
    expect(cases.length).toBeGreaterThan(150);
    expect(pathValued).toEqual(
      expect.arrayContaining([
        "clarifai-audit export --out",
        "clarifai-audit query --lake",
        "clarifai-audit rules check <file>",
      ]),
    );
  });

  it.each(COMPLETERS)(
    "%s: every command's flags, choices, operation names, files, profile names",
    (shell, complete) => {
      check(
        complete(
          scripts.get(shell) as string,
          cases.map((c) => c.line),
          setup,
        ),
      );
    },
  );

  it("zsh: sourced after compinit instead of autoloaded, the script completes too", () => {
    const lines = ["clarifai-audit sy", "clarifai-audit rules check --"];
    expect(zshComplete(scripts.get("zsh") as string, lines, setup, true)).toEqual([
      ["sync"],
      ["--json", "--verbose", "--help"],
    ]);
  });

  it("bash: --flag=value split at = (as COMP_WORDBREAKS does) completes the value", () => {
    const lines = [
      "clarifai-audit export --memory =",
      "clarifai-audit export --memory = f",
      "clarifai-audit export --out = b",
    ];
    expect(bashComplete(scripts.get("bash") as string, lines, setup)).toEqual([
      ["lean", "fast"],
      ["fast"],
      ["b.jsonl"],
    ]);
  });

  it("bash puts a profile name on the command line escaped, so that running the line runs none of it", () => {
    const [answer] = bashComplete(scripts.get("bash") as string, [profileLine], setup);
    expect(answer).toEqual([
      "prod",
      "my\\ profile",
      "\\$\\(touch\\ pwned-dollar\\)",
      "\\`touch\\ pwned-backtick\\`",
    ]);
  });

  it.each([
    ["fails", { FAKE_FAIL: "1" }],
    ["is not on PATH", { PATH: process.env.PATH ?? "" }],
  ])("when clarifai-audit config list %s, --profile offers nothing and nothing is printed", (_, env) => {
    const quiet = { ...setup, env };
    const lines = [profileLine, "clarifai-audit sy"];
    for (const [shell, complete] of COMPLETERS)
      expect(complete(scripts.get(shell) as string, lines, quiet)).toEqual([[], ["sync"]]);
  });
});
