/**
 * `clarifai-audit query --lake DIR "SQL"`: read-only SQL over a lake's `audit_log` view, run in the
 * sandboxed session of packages/cli/src/cli/querySession.ts. Without SQL, the statements come from an
 * interactive shell or a script on stdin (packages/cli/src/cli/queryShell.ts), each one checked and
 * limited as a lone statement is.
 */
import { LakeSession, type QueryFlags, queryFormat, usage } from "./querySession.js";
import type { CommandContext, CommandResult } from "./runner.js";

export type { QueryFlags };

/** Runs `query` (defined in packages/cli/src/cli/commands/query.ts); without `sql`, the shell or a script. */
export async function runQueryCommand(
  ctx: CommandContext,
  sql: string | undefined,
  flags: QueryFlags,
): Promise<CommandResult> {
  const format = await queryFormat(flags, ctx.io.stdout);
  if (sql?.trim() === "") throw await usage("query: the SQL statement is empty");
  const session = await LakeSession.open(flags);
  try {
    if (sql === undefined)
      return await (await import("./queryShell.js")).runQueryInput(ctx, session, flags, format);
    const started = performance.now();
    const rows = await session.run(sql, ctx.io.stdout, format);
    if (ctx.verbose)
      ctx.say(
        `clarifai-audit: statement: ${rows} ${rows === 1 ? "row" : "rows"} in ${Math.round(performance.now() - started)} ms`,
      );
    return { figures: { rows } };
  } finally {
    session.close();
  }
}
