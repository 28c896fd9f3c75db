/**
 * Where typed SQL's statements end, for the `query` shell and scripts (packages/cli/src/cli/queryShell.ts): a
 * statement ends at a `;` outside strings, quoted names and comments. This only cuts the text; each
 * statement is then checked by DuckDB's own parser (packages/cli/src/sync/lake/reader.ts's checkStatement),
 * so a text this reads wrongly is refused there, never run unchecked.
 */

/** A stretch of SQL text: code, a string or quoted name, or a comment. */
interface Segment {
  kind: "code" | "quoted" | "line-comment" | "block-comment";
  start: number;
  end: number;
}

/** Cuts `text` into segments; `open` when it ends inside a string, quoted name or block comment. */
function segments(text: string): { list: Segment[]; open: boolean } {
  const list: Segment[] = [];
  let code = 0;
  let i = 0;
  const push = (kind: Segment["kind"], start: number, end: number) => {
    if (code < start) list.push({ kind: "code", start: code, end: start });
    list.push({ kind, start, end });
    code = end;
    i = end;
  };
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    const word = i > 0 && /[\w$]/.test(text[i - 1] as string);
    if (c === "-" && next === "-") {
      const nl = text.indexOf("\n", i);
      push("line-comment", i, nl === -1 ? text.length : nl);
    } else if (c === "/" && next === "*") {
      // Block comments nest, as in PostgreSQL (whose grammar DuckDB's parser is).
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text.startsWith("/*", j)) [depth, j] = [depth + 1, j + 1];
        else if (text.startsWith("*/", j)) {
          [depth, j] = [depth - 1, j + 1];
          if (depth === 0) break;
        }
      }
      if (j >= text.length) return { list: [...list, ...tail("block-comment")], open: true };
      push("block-comment", i, j + 1);
    } else if (c === "'" || c === '"') {
      // E'…' strings escape with backslashes; every quote is doubled to stand for itself.
      const backslash = c === "'" && /[eE]/.test(text[i - 1] ?? "") && !/[\w$]/.test(text[i - 2] ?? "");
      let j = i + 1;
      for (; j < text.length; j++) {
        if (backslash && text[j] === "\\") j++;
        else if (text[j] === c) {
          if (text[j + 1] === c) j++;
          else break;
        }
      }
      if (j >= text.length) return { list: [...list, ...tail("quoted")], open: true };
      push("quoted", i, j + 1);
    } else if (c === "$" && !word && /^\$(?:[A-Za-z_]\w*)?\$/.test(text.slice(i, i + 65))) {
      const tag = (/^\$(?:[A-Za-z_]\w*)?\$/.exec(text.slice(i, i + 65)) as RegExpExecArray)[0];
      const close = text.indexOf(tag, i + tag.length);
      if (close === -1) return { list: [...list, ...tail("quoted")], open: true };
      push("quoted", i, close + tag.length);
    } else i++;
  }
  if (code < text.length) list.push({ kind: "code", start: code, end: text.length });
  return { list, open: false };

  function tail(kind: Segment["kind"]): Segment[] {
    return [
      ...(code < i ? [{ kind: "code" as const, start: code, end: i }] : []),
      { kind, start: i, end: text.length },
    ];
  }
}

/** What {@link splitStatements} found. */
export interface Split {
  /** The statements ended by a `;`, each without it, leading comments and blanks. */
  complete: string[];
  /** The text after the last `;` (a statement still being typed), from its first non-blank. */
  rest: string;
  /** Whether {@link rest} holds a statement still to be ended (not only blanks or line comments). */
  pending: boolean;
}

/** Splits `text` at the `;`s that end statements. */
export function splitStatements(text: string): Split {
  const { list, open } = segments(text);
  const complete: string[] = [];
  let first: number | undefined;
  let restStart = 0;
  for (const s of list) {
    if (s.kind === "line-comment" || s.kind === "block-comment") continue;
    if (s.kind === "quoted") {
      first ??= s.start;
      continue;
    }
    for (let i = s.start; i < s.end; i++) {
      const c = text[i] as string;
      if (c === ";") {
        if (first !== undefined) complete.push(text.slice(first, i).trim());
        first = undefined;
        restStart = i + 1;
      } else if (first === undefined && !/\s/.test(c)) first = i;
    }
  }
  const rest = text.slice(restStart).trimStart();
  return { complete, rest, pending: open || first !== undefined };
}

/**
 * The history entries for `lines` typed as one statement: one line, the lines joined by spaces, when
 * that reads the same (no line comment, no line break inside a string or quoted name); else the lines.
 */
export function historyEntries(lines: readonly string[]): string[] {
  const kept = lines.filter((l) => l.trim() !== "");
  if (kept.length < 2) return kept;
  const text = kept.join("\n");
  const { list } = segments(text);
  const joinable = list.every(
    (s) => s.kind !== "line-comment" && (s.kind !== "quoted" || !text.slice(s.start, s.end).includes("\n")),
  );
  return joinable ? [kept.map((l) => l.trim()).join(" ")] : kept;
}
