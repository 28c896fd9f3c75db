/**
 * What shell completion offers, read from the command definitions (packages/cli/src/cli/program.ts's
 * program, commander's Command, Option and Argument objects): every visible command and
 * subcommand, every flag its `--help` lists, and what each flag's value or a command's argument
 * completes to. The bash, zsh and fish scripts (bash.ts, zsh.ts, fish.ts beside this file) render
 * this one model, so a command or flag added to a definition is completed without touching them.
 *
 * A value's completion comes from what the definition declares, in this order: commander choices
 * (`--format`, `--memory`, `completion <shell>`); the flag `--operation` (the client's operation
 * names) and `--profile` or an argument `<profile>` (profile names, read when completing); the
 * value's placeholder or the argument's name: `<file>`, `<path>` (files) and `<dir>`, `<dir|url>`
 * (folders); anything else is free text (nothing offered).
 */
import { type Argument, type Command, Help, type Option } from "commander";

/** What a flag's value or a command's argument completes to. */
export type Values =
  /** Free text: nothing to offer. */
  | { kind: "free"; name: string }
  /** One of these words. */
  | { kind: "words"; name: string; words: readonly string[] }
  /** A file (folders too, to walk down to it). */
  | { kind: "files"; name: string }
  /** A folder. */
  | { kind: "dirs"; name: string }
  /** A profile name, read when completing from {@link CompletionModel.profilesCommand}. */
  | { kind: "profiles"; name: string };

/** One visible flag: its names, its help text, and its value (undefined: it takes none). */
export interface FlagModel {
  long?: string;
  short?: string;
  description: string;
  value?: Values;
}

/** One command: its flags, its subcommands, and what its arguments complete to (undefined: none). */
export interface CommandModel {
  name: string;
  /** The names from the program down to it: `["rules", "check"]`; `[]` for the program. */
  path: readonly string[];
  description: string;
  flags: readonly FlagModel[];
  subcommands: readonly CommandModel[];
  argument?: Values;
}

/** Everything a completion script needs. */
export interface CompletionModel {
  /** The program's name, as completed on the command line: `clarifai-audit`. */
  bin: string;
  /** The program itself (`path` `[]`). */
  root: CommandModel;
  /** The command, as its words, that prints the profile names, one per line. */
  profilesCommand: readonly string[];
}

/** The shells `completion` prints a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** One of {@link SHELLS}. */
export type Shell = (typeof SHELLS)[number];

/** Placeholders of a path-valued flag or argument (`--out <file>`, `--lake <dir>`), by what they name. */
const PATH_PLACEHOLDERS: Readonly<Record<string, "files" | "dirs">> = {
  file: "files",
  path: "files",
  dir: "dirs",
  "dir|url": "dirs",
};

/** The name inside a flag's `<…>` or `[…]`, without `...`: `--out <file>` → `file`. */
function placeholder(option: Option): string {
  const m = /[<[]([^>\]]+)[>\]]/.exec(option.flags);
  return (m?.[1] ?? "value").replace(/\.\.\.$/, "");
}

function valuesOf(
  name: string,
  choices: readonly string[] | undefined,
  operations: readonly string[],
  flag?: string,
): Values {
  if (choices !== undefined) return { kind: "words", name, words: choices };
  if (flag === "--operation") return { kind: "words", name, words: operations };
  if (flag === "--profile" || name === "profile") return { kind: "profiles", name };
  const path = PATH_PLACEHOLDERS[name];
  return path === undefined ? { kind: "free", name } : { kind: path, name };
}

function flagModel(option: Option, operations: readonly string[]): FlagModel {
  const takesValue = option.required || option.optional;
  return {
    ...(option.long !== undefined ? { long: option.long } : {}),
    ...(option.short !== undefined ? { short: option.short } : {}),
    description: option.description,
    ...(takesValue
      ? { value: valuesOf(placeholder(option), option.argChoices, operations, option.long) }
      : {}),
  };
}

/** What a command's arguments complete to: its first argument's (a variadic one's for every word). */
function argumentValues(cmd: Command, siblings: readonly Command[]): Values | undefined {
  const first: Argument | undefined = cmd.registeredArguments[0];
  if (first === undefined) return undefined;
  // commander's own `help [command]`: the commands beside it.
  if (cmd.name() === "help" && first.name() === "command")
    return { kind: "words", name: "command", words: siblings.filter((c) => c !== cmd).map((c) => c.name()) };
  return valuesOf(first.name(), first.argChoices, []);
}

function commandModel(
  cmd: Command,
  path: readonly string[],
  operations: readonly string[],
  siblings: readonly Command[],
): CommandModel {
  // What `--help` lists (hidden and deprecated flags and commands left out), as commander decides it.
  const help = new Help();
  const subcommands = help.visibleCommands(cmd);
  const argument = argumentValues(cmd, siblings);
  return {
    name: cmd.name(),
    path,
    description: cmd.description(),
    flags: help.visibleOptions(cmd).map((o) => flagModel(o, operations)),
    subcommands: subcommands.map((sub) => commandModel(sub, [...path, sub.name()], operations, subcommands)),
    ...(argument !== undefined ? { argument } : {}),
  };
}

/**
 * The model of `program` (packages/cli/src/cli/program.ts's buildProgram()), with `operations` the names
 * `--operation` completes to (the client's EventType names).
 */
export function completionModel(program: Command, operations: readonly string[]): CompletionModel {
  return {
    bin: program.name(),
    root: commandModel(program, [], operations, []),
    profilesCommand: [program.name(), "config", "list", "--names"],
  };
}

/** Every command of the model, the program first, each before its subcommands. */
export function allCommands(model: CompletionModel): CommandModel[] {
  const out: CommandModel[] = [];
  const walk = (cmd: CommandModel) => {
    out.push(cmd);
    for (const sub of cmd.subcommands) walk(sub);
  };
  walk(model.root);
  return out;
}

/** The names of `flags`, short and long: `-q`, `--quiet`. */
export function flagNames(flags: readonly FlagModel[]): string[] {
  return flags.flatMap((f) => [f.short, f.long].filter((n): n is string => n !== undefined));
}

/** A word quoted for a POSIX shell (bash, zsh): taken literally, whatever it holds. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=+@%,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A flag's help text on one line, for a completion menu. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
