/**
 * `clarifai-audit search`: one page (or, with --all, every page) of audit-log entries matching the
 * filter flags, as a table on a terminal or JSON Lines / CSV / one JSON array in a pipe.
 */
import type { AuditLogSearchQuery } from "../client/query.js";
import { chooseFormat, EntrySink } from "./output.js";
import {
  type ConnectionFlags,
  clientFromFlags,
  describeWindow,
  type FilterFlags,
  filtersToQuery,
  resolveWindow,
} from "./queryOptions.js";
import { requestSummary } from "./requestStats.js";

/** The flags of `search`, as commander parses them. */
export interface SearchFlags extends FilterFlags, ConnectionFlags {
  page?: number;
  perPage?: number;
  asc?: boolean;
  all?: boolean;
  format?: string;
  quiet?: boolean;
}

/** Runs `search` with its parsed flags (defined in src/cli/commands.ts). */
export async function runSearch(flags: SearchFlags): Promise<void> {
  const format = chooseFormat(flags.format);
  const window = resolveWindow(flags);
  const query: AuditLogSearchQuery = {
    ...filtersToQuery(flags),
    ...(window.from ? { from: window.from } : {}),
    ...(window.to ? { to: window.to } : {}),
    ...(flags.page !== undefined ? { page: flags.page } : {}),
    ...(flags.perPage !== undefined ? { perPage: flags.perPage } : {}),
    ...(flags.asc ? { sortAscending: true } : {}),
  };
  const client = clientFromFlags(flags);
  try {
    if (!flags.quiet && (window.from || window.to)) {
      process.stderr.write(`window: ${describeWindow(window.from, window.to)}\n`);
    }
    const sink = new EntrySink(format);
    if (flags.all) {
      for await (const page of client.pages(query)) await sink.write(page.entries);
      if (!flags.quiet)
        process.stderr.write(`search: ${sink.count} entries; ${requestSummary(client.stats())}\n`);
    } else {
      const page = await client.search(query);
      await sink.write(page.entries);
    }
    await sink.end();
  } finally {
    client.close();
  }
}
