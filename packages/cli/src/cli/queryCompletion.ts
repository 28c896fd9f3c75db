/**
 * Tab completion in the `query` shell (packages/cli/src/cli/queryShell.ts): the word before the cursor
 * completes to a column of audit_log, a view, an SQL keyword or (at the start of a line) a dot command.
 */

/** Keywords offered, in the case the word is typed in. */
const KEYWORDS = [
  "SELECT",
  "FROM",
  "WHERE",
  "GROUP",
  "BY",
  "ORDER",
  "HAVING",
  "LIMIT",
  "OFFSET",
  "DISTINCT",
  "AS",
  "AND",
  "OR",
  "NOT",
  "IN",
  "IS",
  "NULL",
  "LIKE",
  "ILIKE",
  "BETWEEN",
  "CASE",
  "WHEN",
  "THEN",
  "ELSE",
  "END",
  "ASC",
  "DESC",
  "WITH",
  "UNNEST",
  "INTERVAL",
  "FILTER",
  "COUNT",
  "EXPLAIN",
  "ANALYZE",
  "TRUE",
  "FALSE",
];

/** The dot commands, completed at the start of a line. */
const DOT_COMMANDS = [".help", ".tables", ".schema", ".format", ".timer", ".quit", ".exit"];

/**
 * readline's completer over `names` (columns and views) and the keywords: the word before the end of
 * `line`, and what it may become (names as they are; keywords in the case of what was typed).
 */
export function completer(names: readonly string[]): (line: string) => [string[], string] {
  return (line) => {
    if (/^\s*\.\w*$/.test(line)) {
      const word = line.trim();
      return [DOT_COMMANDS.filter((d) => d.startsWith(word)), word];
    }
    const word = /[A-Za-z_][\w]*$/.exec(line)?.[0] ?? "";
    if (word === "") return [[], ""];
    const lower = word === word.toLowerCase();
    const keywords = KEYWORDS.map((k) => (lower ? k.toLowerCase() : k));
    const hits = [...new Set([...names, ...keywords])].filter((w) =>
      w.toLowerCase().startsWith(word.toLowerCase()),
    );
    return [hits.sort(), word];
  };
}
