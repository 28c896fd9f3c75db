/**
 * One vocabulary (packages/cli/src/cli/vocabulary.ts), checked over every command and subcommand
 * as buildProgram() declares them (in-process, no build): every long flag has its one meaning in the
 * registry (or is a deprecated name of it); a flag name has one argument placeholder and one short
 * letter everywhere, the registry's; a short letter names one flag; every --format is a choice list
 * of the registry's names, refused alike with the allowed names; -q/--quiet has one help text.
 */
import type { Command, Option } from "commander";
import { deprecatedAliasOf } from "../../packages/cli/src/cli/deprecatedFlags.js";
import { buildProgram, packageVersion } from "../../packages/cli/src/cli/program.js";
import {
  DEPRECATED_FLAGS,
  FORMATS,
  QUIET_HELP,
  REMOVED_IN,
  VOCABULARY,
} from "../../packages/cli/src/cli/vocabulary.js";
import { renderVocabulary } from "../../scripts/gen-docs.js";
import { runMain } from "./helpers.js";

const { program } = buildProgram();

/** Every command, the program and the groups (rules) included, with its path. */
function commands(): { path: string; cmd: Command }[] {
  const out: { path: string; cmd: Command }[] = [];
  const walk = (cmd: Command, path: string) => {
    out.push({ path: path || "clarifai-audit", cmd });
    for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`.trim());
  };
  walk(program, "");
  return out;
}

/** Every option of every command as [path, option], deprecated aliases apart. */
function uses(): { path: string; option: Option; deprecated: boolean; cmd: Command }[] {
  return commands().flatMap(({ path, cmd }) =>
    cmd.options.map((option) => ({
      path,
      option,
      cmd,
      deprecated: deprecatedAliasOf(cmd, option) !== undefined,
    })),
  );
}

function argumentOf(option: Option): string | undefined {
  const rest = option.flags
    .replace(/^-\w, /, "")
    .slice((option.long as string).length)
    .trim();
  return rest === "" ? undefined : rest;
}

it("the program has its commands and rules' two (the walk reaches every one)", () => {
  const paths = commands().map((c) => c.path);
  for (const p of [
    "search",
    "export",
    "tail",
    "sync",
    "watch",
    "run",
    "rules check",
    "rules test",
    "report",
    "verify",
    "keys generate",
  ])
    expect(paths).toContain(p);
  expect(paths).toEqual(expect.arrayContaining(["emulator", "query"]));
});

it("every long flag of every command is in the registry, with the registry's argument and short letter", () => {
  const wrong: string[] = [];
  for (const { path, option, deprecated } of uses()) {
    const long = option.long as string;
    if (deprecated) continue;
    const entry = VOCABULARY[long];
    if (entry === undefined) {
      wrong.push(`${path}: ${long} is not in packages/cli/src/cli/vocabulary.ts`);
      continue;
    }
    if (argumentOf(option) !== entry.argument)
      wrong.push(`${path}: ${option.flags} (the registry's argument: ${entry.argument ?? "none"})`);
    if (option.short !== entry.short)
      wrong.push(`${path}: ${option.flags} (the registry's short letter: ${entry.short ?? "none"})`);
  }
  expect(wrong).toEqual([]);
});

it("one flag name has one argument placeholder everywhere, and one short letter names one flag", () => {
  const argument = new Map<string, Set<string>>();
  const longOfShort = new Map<string, Set<string>>();
  for (const { option, deprecated } of uses()) {
    if (deprecated) continue;
    const long = option.long as string;
    argument.set(long, (argument.get(long) ?? new Set()).add(argumentOf(option) ?? "(switch)"));
    if (option.short !== undefined)
      longOfShort.set(option.short, (longOfShort.get(option.short) ?? new Set()).add(long));
  }
  const many = (m: Map<string, Set<string>>) =>
    [...m].filter(([, s]) => s.size > 1).map(([k, s]) => `${k}: ${[...s].join(", ")}`);
  expect(many(argument)).toEqual([]);
  expect(many(longOfShort)).toEqual([]);
  // The registry's own short letters are unique too (flags other slices add included).
  const shorts = Object.values(VOCABULARY).flatMap((e) => (e.short ? [e.short] : []));
  expect(new Set(shorts).size).toBe(shorts.length);
  // The help option has the registry's letter.
  expect(VOCABULARY["--help"]?.short).toBe("-h");
});

it("each deprecated name is hidden, takes its replacement's argument and parser, and is removed in the next minor version", () => {
  const [major, minor] = packageVersion().split(".").map(Number) as [number, number];
  expect(REMOVED_IN).toBe(`${major}.${minor + 1}.0`);
  const aliases = uses().filter((u) => u.deprecated);
  expect(new Set(aliases.map((a) => a.option.long))).toEqual(new Set(DEPRECATED_FLAGS.map((d) => d.flag)));
  for (const { cmd, option } of aliases) {
    const d = deprecatedAliasOf(cmd, option);
    const replacement = cmd.options.find((o) => o.long === d?.replacement) as Option;
    expect({ flag: option.long, hidden: option.hidden }).toEqual({ flag: option.long, hidden: true });
    expect(argumentOf(option)).toBe(argumentOf(replacement));
    expect(option.parseArg).toBe(replacement.parseArg);
    expect(option.argChoices).toEqual(replacement.argChoices);
    expect(VOCABULARY[d?.replacement as string]).toBeDefined();
  }
});

it("every --format is a choice list of the registry's names, in its order", () => {
  const formats = uses().filter((u) => u.option.long === "--format");
  // At least these (a command that gains --format is checked the same way).
  expect(formats.map((f) => f.path)).toEqual(
    expect.arrayContaining(["search", "export", "tail", "watch", "rules test", "query"]),
  );
  for (const { path, option } of formats) {
    const choices = option.argChoices ?? [];
    const list = Object.values(FORMATS).find((names) => choices.every((c) => names.includes(c as never)));
    expect({ path, list: list !== undefined && choices.length > 0 }).toEqual({ path, list: true });
    // The registry's order: a subset keeps it.
    expect({ path, choices }).toEqual({ path, choices: list?.filter((n) => choices.includes(n)) });
  }
});

it.each([
  ["search", [], FORMATS.entries],
  ["tail", [], FORMATS.entries],
  ["query", ["--lake", "lake", "SELECT 1"], FORMATS.rows],
  ["export", ["--out", "x.jsonl"], ["json", "jsonl", "csv", "ocsf"]],
  ["watch", ["--rules", "builtin"], FORMATS.alerts],
  ["rules test", ["--rules", "builtin", "--input", "x.jsonl"], FORMATS.alerts],
])("%s --format xml: one line listing what is allowed, exit 2", async (command, rest, allowed) => {
  const r = await runMain([...command.split(" "), ...rest, "--format", "xml"]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toBe(
    `clarifai-audit: error: option '--format <format>' argument 'xml' is invalid. Allowed choices are ${allowed.join(", ")}.\n`,
  );
});

it("-q/--quiet: the same letter, help text and meaning on every command that has it", () => {
  const quiet = uses().filter((u) => u.option.long === "--quiet");
  expect(quiet.map((q) => q.path)).toEqual(
    expect.arrayContaining([
      "search",
      "export",
      "tail",
      "sync",
      "watch",
      "run",
      "rules test",
      "report",
      "emulator",
    ]),
  );
  for (const { option } of quiet) expect([option.short, option.description]).toEqual(["-q", QUIET_HELP]);
  expect(VOCABULARY["--quiet"]?.meaning).toBe(QUIET_HELP);
});

it("docs/vocabulary.md lists every flag with its meaning, the commands that take it, and the deprecated names", () => {
  const page = renderVocabulary(program);
  expect(page).not.toContain("(not in the vocabulary)");
  expect(page).toContain(
    "| `--actor` |  | `<id>` | filter: only operations performed by this user (who acted); repeatable | `search`, `export`, `tail`, `sync`, `report` |",
  );
  expect(page).toContain("| `--quiet` | `-q` |  |");
  expect(page).toContain("| `--dest` |  | `<dir\\|url>` |");
  expect(page).toMatch(/\| `--lake` \| {2}\| `<dir>` \| [^|]+ \| `sync`, `rules test`, `report`, `query` \|/);
  // tail takes --to only to refuse it: not listed; sync's --to is the deprecated destination.
  expect(page).toMatch(/\| `--to` \| {2}\| `<time>` \| [^|]+ \| `search`, `export`, `report` \|/);
  expect(page).toContain("| `--to` | `--dest` | 0.2.0 | `sync` |");
  expect(page).toContain("| `--user` | `--actor` | 0.2.0 | `search`, `export`, `tail`, `sync`, `report` |");
  expect(page).toContain("| `--profile` | `--preset` | 0.2.0 | `emulator` |");
});
