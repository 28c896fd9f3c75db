/**
 * `clarifai-audit search`: one page (or, with --all, every page) of audit-log entries matching the
 * filter flags, as a table on a terminal or JSON Lines / CSV / one JSON array in a pipe.
 */
import type { AuditLogSearchQuery } from "@clarifai-audit/client/internal/client/query.js";
import { chooseFormat, EntrySink } from "./output.js";
import {
  type ConnectionFlags,
  describeWindow,
  type FilterFlags,
  filtersToQuery,
  resolveWindow,
} from "./queryOptions.js";
import { requestFigures, requestSummary } from "./requestStats.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The flags of `search`, as commander parses them. */
export interface SearchFlags extends FilterFlags, ConnectionFlags {
  page?: number;
  perPage?: number;
  asc?: boolean;
  all?: boolean;
  format?: string;
  quiet?: boolean;
  json?: boolean;
}

/** Runs `search` with its parsed flags (defined in packages/cli/src/cli/commands/search.ts). */
export async function runSearch(ctx: CommandContext, flags: SearchFlags): Promise<CommandResult> {
  const format = chooseFormat(flags.format, ctx.io.stdout);
  const window = resolveWindow(flags, ctx.clock.now());
  const query: AuditLogSearchQuery = {
    ...filtersToQuery(flags),
    ...(window.from ? { from: window.from } : {}),
    ...(window.to ? { to: window.to } : {}),
    ...(flags.page !== undefined ? { page: flags.page } : {}),
    ...(flags.perPage !== undefined ? { perPage: flags.perPage } : {}),
    ...(flags.asc ? { sortAscending: true } : {}),
  };
  const client = await ctx.client(flags);
  if (!flags.quiet && (window.from || window.to))
    ctx.say(`window: ${describeWindow(window.from, window.to)}`);
  const sink = new EntrySink(format, ctx.io.stdout);
  if (flags.all) {
    for await (const page of client.pages(query, { signal: ctx.signal })) await sink.write(page.entries);
  } else {
    const page = await client.search(query, { signal: ctx.signal });
    await sink.write(page.entries);
  }
  await sink.end();
  const stats = client.stats();
  return {
    ...(flags.all && !flags.quiet
      ? { summary: `search: ${sink.count} entries; ${requestSummary(stats)}` }
      : {}),
    figures: { entries: sink.count, ...requestFigures(stats) },
  };
}
