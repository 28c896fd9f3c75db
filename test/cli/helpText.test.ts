/**
 * The help texts agree with the CLI: every default a subcommand's --help prints is accepted back by
 * its flag, no duration default is printed as bare milliseconds, export's --max-attempts default is the one export uses, tail does not list flags it
 * refuses, CLARIFAI_PAT is named; and CLI errors use CLI words, not the library's.
 */
import type { Command } from "commander";
import { buildProgram } from "../../packages/cli/src/cli/program.js";
import { runMain } from "./helpers.js";

const SUBCOMMANDS: Record<string, string[]> = {
  search: [],
  export: ["--out", "x.jsonl"],
  tail: [],
  emulator: [],
  sync: ["--dest", "lake"],
  watch: [],
  report: ["--out", "r.html"],
  query: ["--lake", "lake"],
};

/** Options of a help text: flag, whether it takes a value, and its whole (unwrapped) description. */
function options(help: string): { flag: string; value: boolean; arg: string; text: string }[] {
  const out: { flag: string; value: boolean; arg: string; text: string }[] = [];
  for (const line of help.split("\n")) {
    const m = /^ {2}(?:-\w, )?(--[\w-]+)( <[^>]+>)?\s+(.*)$/.exec(line);
    if (m)
      out.push({ flag: m[1] as string, value: m[2] !== undefined, arg: m[2] ?? "", text: m[3] as string });
    else if (/^ {10,}\S/.test(line) && out.length > 0)
      (out[out.length - 1] as { text: string }).text += ` ${line.trim()}`;
  }
  return out;
}

/** What a description says the default is, when it prints one as a value. */
function printedDefault(text: string): string | undefined {
  const m = /\(default:? ([^;),]+?)(?: on a terminal| or |[;),])/.exec(text);
  if (!m) return undefined;
  const value = (m[1] as string).trim().replace(/^"(.*)"$/, "$1");
  // An environment variable's name, or a sentence: not a value to feed back.
  if (/^[A-Z_]+$/.test(value) || /\s/.test(value) || value === "from") return undefined;
  return value;
}

it.each(Object.keys(SUBCOMMANDS))("%s: every printed default is accepted back by its flag", async (sub) => {
  const help = await runMain([sub, "--help"]);
  expect(help.code).toBe(0);
  const withDefaults = options(help.stdout)
    .filter((o) => o.value)
    .map((o) => ({ flag: o.flag, value: printedDefault(o.text) }))
    .filter((o): o is { flag: string; value: string } => o.value !== undefined);
  expect(withDefaults.length).toBeGreaterThan(sub === "search" ? 1 : 2);
  // --help after the flags: commander parses (and checks) each value, then prints the help.
  const args = [sub, ...(SUBCOMMANDS[sub] as string[])];
  for (const { flag, value } of withDefaults) args.push(flag, value);
  const back = await runMain([...args, "--help"]);
  expect({ args, code: back.code, stderr: back.stderr }).toEqual({ args, code: 0, stderr: "" });
});

/** Every command that runs, as the words that name it (`["rules", "test"]`), from the definitions. */
function leafCommands(cmd: Command, path: string[] = []): string[][] {
  return cmd.commands.flatMap((c) =>
    c.commands.length > 0 ? leafCommands(c, [...path, c.name()]) : [[...path, c.name()]],
  );
}

it("every command of the definitions (config, completion, rules … included): each printed default is accepted back", async () => {
  const leaves = leafCommands(buildProgram().program);
  expect(leaves.length).toBeGreaterThanOrEqual(14);
  let checked = 0;
  for (const words of leaves) {
    const help = await runMain([...words, "--help"]);
    expect({ words, code: help.code }).toEqual({ words, code: 0 });
    const args = [...words];
    for (const o of options(help.stdout).filter((o) => o.value)) {
      const value = printedDefault(o.text);
      if (value !== undefined) {
        args.push(o.flag, value);
        checked++;
      }
    }
    const back = await runMain([...args, "--help"]);
    expect({ args, code: back.code, stderr: back.stderr }).toEqual({ args, code: 0, stderr: "" });
  }
  // The printed defaults fed back (51 today): a parser that found none would prove nothing.
  expect(checked).toBeGreaterThanOrEqual(40);
});

it("prints no bare millisecond defaults, export's real --max-attempts, no --to/--until for tail, and CLARIFAI_PAT", async () => {
  const [search, exp, tail] = await Promise.all(
    ["search", "export", "tail"].map((s) => runMain([s, "--help"])),
  );
  const later = await Promise.all(["sync", "watch", "report"].map((s) => runMain([s, "--help"])));
  for (const r of [search, exp, tail, ...later]) {
    const durations = options(r?.stdout ?? "").filter((o) => /<duration>|<ms>/.test(o.arg));
    expect(durations.length).toBeGreaterThan(0);
    for (const o of durations)
      expect({ flag: o.flag, bare: /default:? \d+\)/.test(o.text) }).toEqual({ flag: o.flag, bare: false });
    expect(r?.stdout).toMatch(/CLARIFAI_PAT/);
  }
  expect(options(exp?.stdout ?? "").find((o) => o.flag === "--max-attempts")?.text).toMatch(/default 10\)/);
  expect(options(search?.stdout ?? "").find((o) => o.flag === "--max-attempts")?.text).toMatch(/default 5\)/);
  const tailFlags = options(tail?.stdout ?? "").map((o) => o.flag);
  expect(tailFlags).toContain("--since");
  expect(tailFlags).not.toContain("--to");
  expect(tailFlags).not.toContain("--until");
});

it("words CLI errors for the CLI, not the library", async () => {
  const both = { CLARIFAI_PAT: "help-test-pat-0123", CLARIFAI_USER_ID: "u" };
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["search"], { CLARIFAI_USER_ID: "u" }, /set CLARIFAI_PAT/],
    [
      ["search"],
      { CLARIFAI_PAT: "help-test-pat-0123" },
      /give --user-id, set CLARIFAI_USER_ID, or use a profile with user_id/,
    ],
    [["search", "--endpoint", "http://127.0.0.1:1"], both, /--endpoint: .*--insecure/],
    [["search", "--endpoint", "10.1.2.3:50051", "--insecure"], both, /--insecure: .*loopback hosts only/],
    [["search", "--from", "1700000000000"], both, /--from: "1700000000000" is not a time: use RFC 3339/],
    [
      ["search", "--endpoint", "unix:/tmp/s.sock", "--insecure"],
      both,
      /unix: socket endpoints are not supported/,
    ],
    [["search", "--endpoint", "me:pw@127.0.0.1:5", "--insecure"], both, /no user info/],
    [["search", "--endpoint", "127.0.0.1:5?x=1", "--insecure"], both, /no query \(\?\) or fragment/],
    [["search", "--target", "model=my model"], both, /--target: .*no whitespace/],
    [["search", "--actor", "a b"], both, /--actor: .*no whitespace/],
  ];
  for (const [args, env, want] of cases) {
    const r = await runMain(args, { PATH: process.env.PATH ?? "", ...env });
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
    expect(r.stderr).toMatch(want);
    expect(r.stderr).not.toMatch(
      /pass \{|insecure: true|allowInsecureRemote|epoch milliseconds|the pat option/,
    );
  }
});
