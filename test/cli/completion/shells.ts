/**
 * Runs generated completion scripts in the real shells, one shell process per call for every case:
 * each case is a command line completed at its end, and the answer is the candidates that shell's
 * completion offers for it, in its own form (bash: COMPREPLY as it would insert it; fish: `complete
 * -C`'s candidates; zsh: what reaches compadd, caught by test/cli/completion/zshCapture.zsh).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shellQuote } from "../../../packages/cli/src/cli/completion/model.js";

/** Where a shell runs: its folder, its PATH, and where it may write its files. */
export interface ShellSetup {
  cwd: string;
  path: string;
  scratch: string;
  /** Variables besides PATH, HOME, TERM and LANG. */
  env?: Record<string, string>;
}

const CASE = "<<case>>";

function run(command: string, args: string[], setup: ShellSetup, input?: string): string {
  const r = spawnSync(command, args, {
    cwd: setup.cwd,
    input,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: setup.path, HOME: setup.scratch, TERM: "dumb", LANG: "C.UTF-8", ...setup.env },
  });
  if (r.status !== 0) throw new Error(`${command} exited ${r.status} ${r.signal ?? ""}: ${r.stderr}`);
  if (r.stderr !== "") throw new Error(`${command} wrote on stderr: ${r.stderr}`);
  return r.stdout;
}

/** The candidates of each case, from the output: a CASE line, then one candidate per line. */
function answers(output: string, cases: number): string[][] {
  const parts = output.split(`${CASE}\n`).slice(1);
  if (parts.length !== cases) throw new Error(`expected ${cases} answers, got ${parts.length}:\n${output}`);
  return parts.map((p) => p.split("\n").filter((l) => l !== ""));
}

/**
 * bash: sources the script and calls its function with COMP_WORDS/COMP_CWORD set from the line
 * (split on spaces, as bash does for these lines; a trailing space is an empty current word).
 */
export function bashComplete(script: string, lines: readonly string[], setup: ShellSetup): string[][] {
  const file = join(setup.scratch, "completion.bash");
  writeFileSync(file, script);
  const body = lines.map((line) => `__case ${line.split(" ").map(shellQuote).join(" ")}`);
  const driver = `source ${shellQuote(file)} || exit 3
fn=$(complete -p clarifai-audit | sed -E 's/.*-F ([^ ]+).*/\\1/')
__case() {
  COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
  COMPREPLY=()
  "$fn" clarifai-audit "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\\n' ${shellQuote(CASE)}
  (( \${#COMPREPLY[@]} )) && printf '%s\\n' "\${COMPREPLY[@]}"
  return 0
}
${body.join("\n")}
`;
  return answers(run("bash", ["--norc", "--noprofile", "-c", driver], setup), lines.length);
}

/** fish: sources the script and asks `complete -C` for each line (stdin, one per line). */
export function fishComplete(script: string, lines: readonly string[], setup: ShellSetup): string[][] {
  const file = join(setup.scratch, "completion.fish");
  writeFileSync(file, script);
  const driver = `source ${shellQuote(file)}; or exit 3
while read -l line
    echo ${shellQuote(CASE)}
    complete -C"$line"
end`;
  const out = run("fish", ["--no-config", "-c", driver], setup, `${lines.join("\n")}\n`);
  return answers(out, lines.length).map((list) => list.map((c) => c.split("\t")[0] as string));
}

/**
 * zsh: the script as an autoloaded `_clarifai-audit` in $fpath (or, `sourced`, sourced after
 * compinit), completed in an interactive zsh.
 */
export function zshComplete(
  script: string,
  lines: readonly string[],
  setup: ShellSetup,
  sourced = false,
): string[][] {
  const dir = join(setup.scratch, "zsh-functions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "_clarifai-audit"), script);
  const capture = join(process.cwd(), "test", "cli", "completion", "zshCapture.zsh");
  const args = ["-f", capture, dir, setup.cwd, sourced ? "source" : "fpath"];
  const out = run("zsh", args, setup, `${lines.join("\n")}\n`);
  // _files tries folders, then all files: a folder can be offered twice.
  return answers(out, lines.length).map((list) => [...new Set(list)]);
}
