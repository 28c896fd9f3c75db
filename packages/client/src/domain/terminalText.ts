/**
 * Text bound for a terminal. Audit entries hold text written by whoever made the request (user ids,
 * descriptions, target names), so a human-facing line that prints them raw lets an entry move the
 * cursor, clear the screen, retitle the window (OSC), plant hyperlinks or, with bidi overrides,
 * make the line read differently than it is stored. Every human format escapes them here; the
 * machine formats (JSON, JSON Lines, CSV) keep the data exact.
 */

/**
 * The characters escaped: C0 controls (NUL–US, ESC and BEL among them), DEL, the C1 controls
 * U+0080–U+009F (U+009B is a one-byte CSI for terminals that honour 8-bit controls), the bidi
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks (U+200E/U+200F,
 * U+061C), the zero-width and invisible characters U+200B–U+200D, U+2060–U+2064 and U+FEFF (they make
 * two different ids look the same), the line/paragraph separators U+2028/U+2029, the interlinear
 * annotation controls U+FFF9–U+FFFB, and lone UTF-16 surrogates (printed as U+FFFD otherwise, so
 * two ids would look alike).
 */
// Built from text: the linter (rightly, elsewhere) refuses control characters in a regex literal.
const UNSAFE = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ufff9-\\ufffb]" +
    "|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]",
  "g",
);

const UNSAFE_ANY = new RegExp(UNSAFE.source);

const NAMED: Readonly<Record<string, string>> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every character a terminal would act on (rather than show) written as a visible
 * escape: `\x1b`, `\x9b`, `\r`, `\n`, `\t`, `\u202e`… Backslashes are left as they are, so the
 * result is for reading, not for decoding: the exact value is in the JSON formats.
 */
export function terminalSafe(text: string): string {
  return UNSAFE_ANY.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

/** True when `text` holds nothing {@link terminalSafe} would escape. */
export function isTerminalSafe(text: string): boolean {
  return !UNSAFE_ANY.test(text);
}

/**
 * Lines of text (CSV on a terminal) made safe like {@link terminalSafe}, line feeds kept: they end
 * the records, and a line feed inside a quoted field only starts a new screen line (a carriage
 * return, which could overwrite one, is escaped).
 */
export function terminalSafeLines(text: string): string {
  return UNSAFE_ANY.test(text) ? text.replace(UNSAFE, (c) => (c === "\n" ? c : escapeOne(c))) : text;
}

/**
 * JSON text (a document or JSON lines) for a terminal, with the same value: JSON escapes C0 controls
 * itself but leaves DEL, the C1 controls (U+009B is a CSI) and the invisible and bidi characters
 * raw; those are written as `\uXXXX` escapes, which a JSON parser reads back as the same string.
 * Outside strings JSON text holds nothing but ASCII structure and white space, which is kept.
 */
export function terminalSafeJson(text: string): string {
  if (!UNSAFE_ANY.test(text)) return text;
  return text.replace(UNSAFE, (c) =>
    c === "\n" || c === "\r" || c === "\t" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
