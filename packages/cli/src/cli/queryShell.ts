/**
 * `clarifai-audit query --lake DIR` without SQL: on a terminal (stdin and stdout), an interactive
 * shell as `duckdb`'s — a prompt, statements over several lines (run at their `;`), Tab completion
 * (packages/cli/src/cli/queryCompletion.ts), history with up/down kept in a file
 * (packages/cli/src/cli/queryHistory.ts), dot commands (packages/cli/src/cli/queryInput.ts), Ctrl-C to
 * cancel a line or stop a statement, Ctrl-D to leave; elsewhere, a script read from stdin,
 * its statements run in turn, stopping at the first that fails. Every statement goes through the same
 * sandboxed session and limits as a lone `query "SQL"`.
 */
import { createInterface, type Interface } from "node:readline";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import { completer } from "./queryCompletion.js";
import { appendHistory, HISTORY_SIZE, historyPath, loadHistory } from "./queryHistory.js";
import { CATALOG, QueryInput } from "./queryInput.js";
import type { QueryFormat } from "./queryPrinter.js";
import type { LakeSession, QueryFlags } from "./querySession.js";
import { usage } from "./querySession.js";
import { historyEntries, splitStatements } from "./queryStatements.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The prompt, and the one of a statement's further lines. */
export const PROMPT = "sql> ";
export const CONTINUATION = "...> ";

/** Runs the shell (stdin and stdout terminals) or the script on stdin. */
export async function runQueryInput(
  ctx: CommandContext,
  session: LakeSession,
  flags: QueryFlags,
  format: QueryFormat,
): Promise<CommandResult> {
  const { stdin, stdout, stderr } = ctx.io;
  const terminal = Boolean((stdin as { isTTY?: boolean }).isTTY && stdout.isTTY);
  const input = new QueryInput(session, stdout, stderr, format, terminal);
  if (terminal) await shell(ctx, input, flags, session);
  else await script(ctx, input);
  return { figures: { statements: input.statements, failed: input.failed, rows: input.rows } };
}

/** Whether `line`, typed where a statement would start, is a dot command. */
const isDot = (line: string) => line.trimStart().startsWith(".");

/**
 * The script on stdin: statements (and dot commands) in turn; the first that fails ends the run with
 * its line, which names where it ends on stdin. A last statement without `;` runs too.
 */
async function script(ctx: CommandContext, input: QueryInput): Promise<void> {
  const rl = createInterface({ input: ctx.io.stdin, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
  let lines: string[] = [];
  let number = 0;
  let any = false;
  const run = async (sql: string) => {
    any = true;
    try {
      await input.execute(sql);
    } catch (error) {
      throw await located(error, number);
    }
  };
  try {
    for await (const line of rl) {
      number++;
      if (lines.length === 0 && isDot(line)) {
        any = true;
        const outcome = await input.dot(line).catch(async (error: unknown) => {
          throw await located(error, number);
        });
        if (outcome === "quit") return;
        continue;
      }
      lines.push(line);
      const split = splitStatements(lines.join("\n"));
      for (const sql of split.complete) await run(sql);
      if (split.complete.length > 0 || !split.pending) lines = split.pending ? [split.rest] : [];
    }
    const last = splitStatements(lines.join("\n"));
    if (last.pending) await run(last.rest);
  } finally {
    rl.close();
  }
  if (!any)
    throw await usage(
      'query: no SQL statement: give one as an argument (query --lake DIR "SELECT …"), type them at a terminal, or pipe a script on stdin',
    );
}

/** A script's error, its line saying where on stdin. */
async function located(error: unknown, line: number): Promise<unknown> {
  const { UsageError } = await import("./exitCodes.js");
  if (!(error instanceof UsageError)) return error;
  // The statement's line says `query`: … (backticks: an option's name, rendered when printed).
  return new UsageError(`query: stdin line ${line}: ${error.message.replace(/^(?:`query`|query): /, "")}`);
}

/** readline's history (newest first) and line clearing: part of its interface, not of its types. */
type ShellLine = Interface & { history: string[]; clearLine(): void };

/** The interactive shell; resolves when it ends (Ctrl-D, .quit, Ctrl-C twice at an empty prompt). */
async function shell(
  ctx: CommandContext,
  input: QueryInput,
  flags: QueryFlags,
  session: LakeSession,
): Promise<void> {
  const { stdin, stdout, stderr } = ctx.io;
  // The lake's and the history's paths are the user's text: shown with control characters escaped.
  const warn = (text: string) => stderr.write(`clarifai-audit: warning: ${terminalSafe(text)}\n`);
  let path = flags.history === false ? undefined : historyPath(ctx.env);
  if (flags.history !== false && path === undefined)
    warn(
      "the history is not kept: HOME and XDG_STATE_HOME name no absolute folder (set one, or pass --no-history)",
    );
  let entries: string[] = [];
  if (path !== undefined)
    try {
      entries = await loadHistory(path);
    } catch (error) {
      warn(`the history is not kept: cannot read ${path} (${(error as Error).message})`);
      path = undefined;
    }
  stdout.write(
    `clarifai-audit query: the lake ${terminalSafe(flags.lake)} as the view audit_log, read-only. End statements with ";"; .help for help, Ctrl-D to leave.\n`,
  );
  // Tab completes audit_log's columns and the views; without them (never seen), keywords only.
  const names = await Promise.all([
    session.firstColumn(CATALOG[".schema"]),
    session.firstColumn(CATALOG[".tables"]),
  ])
    .then((lists) => lists.flat())
    .catch(() => []);
  const rl = createInterface({
    input: stdin,
    output: stdout,
    terminal: true,
    completer: completer(names),
    history: [...entries],
    historySize: HISTORY_SIZE,
    prompt: PROMPT,
  }) as ShellLine;
  const { reportError } = await import("./exitCodes.js");
  /** The lines of the statement being typed. */
  let lines: string[] = [];
  const queue: string[] = [];
  let busy = false;
  let closed = false;
  let quit = false;
  let interruptedOnce = false;
  /** Ctrl-C while statements run: the one running stops, those after it do not start. */
  let stopping = false;
  /** The shell closes readline itself (.quit, an error, the end): no newline after a bare prompt then. */
  let leaving = false;
  let end: (error?: unknown) => void = () => {};
  const ended = new Promise<void>((resolve, reject) => {
    end = (error) => (error === undefined ? resolve() : reject(error));
  });

  /** Puts what was typed for one statement (or dot command) into the history, and its file. */
  const remember = async (typed: string[]) => {
    const added = historyEntries(typed).filter(
      (entry, i, all) => entry !== (i === 0 ? entries[0] : all[i - 1]),
    );
    entries.unshift(...[...added].reverse());
    entries.length = Math.min(entries.length, HISTORY_SIZE);
    rl.history.splice(0, rl.history.length, ...entries);
    if (path === undefined) return;
    try {
      await appendHistory(path, added);
    } catch (error) {
      warn(`the history is no longer kept: cannot write ${path} (${(error as Error).message})`);
      path = undefined;
    }
  };
  /** Runs a statement or dot command; its error is one line, and the shell goes on. */
  const attempt = async (work: () => Promise<unknown>) => {
    try {
      return await work();
    } catch (error) {
      const { UsageError } = await import("./exitCodes.js");
      if (!(error instanceof UsageError)) throw error;
      reportError(error, ctx.env, stderr);
      return undefined;
    }
  };
  const handle = async (line: string) => {
    if (lines.length === 0 && isDot(line)) {
      await remember([line]);
      if ((await attempt(() => input.dot(line))) === "quit") quit = true;
      return;
    }
    lines.push(line);
    const split = splitStatements(lines.join("\n"));
    if (split.complete.length === 0 && split.pending) return;
    await remember(lines);
    lines = split.pending ? [split.rest] : [];
    for (const sql of split.complete) {
      // Ctrl-C before the statement started (while the history was saved): it stops it all the same.
      if (stopping) {
        await attempt(async () => {
          throw await usage("query: interrupted");
        });
        break;
      }
      await attempt(() => input.execute(sql));
    }
  };
  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (queue.length > 0 && !quit) await handle(queue.shift() as string);
    } catch (error) {
      leaving = true;
      rl.close();
      end(error);
      return;
    } finally {
      busy = false;
      stopping = false;
    }
    if (quit || closed) {
      leaving = true;
      end();
    } else {
      rl.setPrompt(lines.length === 0 ? PROMPT : CONTINUATION);
      rl.prompt(true);
    }
  };
  rl.on("line", (line) => {
    interruptedOnce = false;
    queue.push(line);
    void pump();
  });
  rl.on("SIGINT", () => {
    if (busy) {
      // Stops the statement (its line says "interrupted") and drops what was typed ahead.
      queue.length = 0;
      stopping = true;
      session.interrupt();
      return;
    }
    const empty = lines.length === 0 && rl.line === "";
    rl.clearLine();
    lines = [];
    rl.history.splice(0, rl.history.length, ...entries);
    if (empty && interruptedOnce) {
      leaving = true;
      return void rl.close();
    }
    if (empty) stdout.write("(Ctrl-C again to leave, or Ctrl-D, or .quit)\n");
    interruptedOnce = empty;
    rl.setPrompt(PROMPT);
    rl.prompt();
  });
  rl.on("close", () => {
    closed = true;
    if (busy) return;
    // Ctrl-D at a prompt: the next output starts on a line of its own.
    if (!leaving) stdout.write("\n");
    leaving = true;
    end();
  });
  rl.prompt();
  try {
    await ended;
  } finally {
    leaving = true;
    rl.close();
  }
}
