/**
 * `clarifai-audit search`: one page (or, with --all, every page) of audit-log entries matching the
 * filter flags, as a table on a terminal or JSON Lines / CSV / one JSON array in a pipe.
 */
import type { Command } from "commander";
import type { AuditLogSearchQuery } from "../index.js";
import { MAX_PER_PAGE } from "../index.js";
import { integerOption } from "./duration.js";
import { chooseFormat, EntrySink, exitOnEpipe } from "./output.js";
import {
  addConnectionOptions,
  addFilterOptions,
  type ConnectionFlags,
  clientFromFlags,
  describeWindow,
  type FilterFlags,
  filtersToQuery,
  resolveWindow,
} from "./queryOptions.js";

interface SearchFlags extends FilterFlags, ConnectionFlags {
  page?: number;
  perPage?: number;
  asc?: boolean;
  all?: boolean;
  format?: string;
  quiet?: boolean;
}

/** Registers `search`. */
export function registerSearchCommand(program: Command): void {
  const cmd = program
    .command("search")
    .description("Search the audit log (one page, or every page with --all).")
    .option("--page <n>", "page number, from 1 (default 1)", integerOption("--page", 1, 1_000_000_000))
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE} (default 128)`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
    )
    .option("--asc", "oldest first (default: newest first, as the API)")
    .option("--all", "follow pages until the last one (the window's end is pinned at the first request)")
    .option("--format <format>", "table | json | jsonl | csv (default: table on a terminal, else jsonl)")
    .option("-q, --quiet", "no informational lines on stderr");
  addFilterOptions(cmd);
  addConnectionOptions(cmd);
  cmd.action(async (flags: SearchFlags) => {
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
      exitOnEpipe();
      const sink = new EntrySink(format);
      if (flags.all) {
        for await (const page of client.pages(query)) await sink.write(page.entries);
      } else {
        const page = await client.search(query);
        await sink.write(page.entries);
      }
      await sink.end();
    } finally {
      client.close();
    }
  });
}
