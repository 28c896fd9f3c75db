/**
 * `--json` on every command: each command buildProgram() declares takes it through the shared
 * output group (the same help), unless listed below as an exception with its reason; and the
 * emulator, the one that had none, gives what it served when it stops.
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { buildProgram } from "../../packages/cli/src/cli/program.js";
import { JSON_SUMMARY_HELP } from "../../packages/cli/src/cli/sharedFlags.js";
import { CLI, cliEnv, collect } from "./helpers.js";

/**
 * Commands without `--json`, each with why (documented in docs/src/cli/README.md's `--json`).
 * None today: a command added without it fails below until it takes it or is listed here.
 */
const WITHOUT_JSON: Record<string, string> = {
  completion: "prints a script to be sourced; it has no figures to report",
};

/** Every command that runs (a group such as `rules` only holds its subcommands), by its full name. */
function leaves(cmd: Command, prefix = ""): [string, Command][] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return c.commands.length > 0 ? leaves(c, `${name} `) : [[name, c] as [string, Command]];
  });
}

it("every command takes --json from the shared output group, or is a listed exception", () => {
  const commands = leaves(buildProgram().program);
  expect(commands.length).toBeGreaterThanOrEqual(10);
  const missing: string[] = [];
  for (const [name, cmd] of commands) {
    const json = cmd.options.find((o) => o.long === "--json");
    if (name in WITHOUT_JSON) expect(json).toBeUndefined();
    else if (json === undefined) missing.push(name);
    else expect({ name, help: json.description }).toEqual({ name, help: JSON_SUMMARY_HELP });
  }
  expect(missing).toEqual([]);
  // An exception names a command that exists.
  for (const name of Object.keys(WITHOUT_JSON)) expect(commands.map(([n]) => n)).toContain(name);
});

it("emulator --json: what it served, as its last line on stderr when it stops", async () => {
  const child = spawn(
    process.execPath,
    [CLI, "emulator", "--json", "--generate", "50", "--pat", "json-pat=json-user", "--no-rest"],
    { env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  const done = collect(child);
  // Stopped once it is serving (its ready line on stdout).
  await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
  child.kill("SIGINT");
  const r = await done;
  expect(r.code).toBe(0);
  const { grpc } = JSON.parse(r.stdout) as { grpc: string };
  const last = JSON.parse(r.stderr.trimEnd().split("\n").pop() as string);
  expect(last).toEqual({
    command: "emulator",
    exitCode: 0,
    grpc,
    rest: null,
    entries: 50,
    calls: 0,
    rateLimited: 0,
  });
});
