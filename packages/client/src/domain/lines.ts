/**
 * Splits text, fed in chunks, into lines in time linear in its size, whatever the line lengths: a
 * line that spans chunks is kept as a list of pieces and joined once, never rebuilt or rescanned
 * per chunk (`rest + chunk` and a search from its start made one 20 MiB line cost minutes). Lines
 * are bounded: one longer than {@link MAX_LINE_CHARS} is refused as soon as it passes the limit.
 * The readers of export files (`report --input`, `rules test --input`) share it.
 */
import { ClarifaiAuditError } from "./errors.js";

/** The longest line (or JSON array element) an export reader accepts: 16 MiB of text. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;
/** {@link MAX_LINE_CHARS} in words, for messages. */
export const MAX_LINE_TEXT = "16 MiB";

/** A line longer than the limit; `line` is its 1-based number. */
export class LineTooLongError extends ClarifaiAuditError {
  override name = "LineTooLongError";
  constructor(readonly line: number) {
    super(`line ${line}: longer than ${MAX_LINE_TEXT}`);
  }
}

/** A line and its 1-based number in the input. */
export interface NumberedLine {
  line: number;
  text: string;
  /** `line` counts the elements of a JSON array read whole, not lines. */
  element?: true;
}

/** Splits chunks into lines ("\n" or "\r\n"); {@link end} gives the last line when it has no "\n". */
export class LineSplitter {
  #parts: string[] = [];
  #partChars = 0;
  /** Lines completed so far. */
  #lines: number;

  constructor(
    /** Lines before the first chunk (skipped by the caller), so that numbers stay those of the file. */
    linesBefore = 0,
    readonly max = MAX_LINE_CHARS,
  ) {
    this.#lines = linesBefore;
  }

  #take(text: string): NumberedLine {
    this.#lines++;
    return { line: this.#lines, text: text.endsWith("\r") ? text.slice(0, -1) : text };
  }

  /**
   * The lines `chunk` completes.
   * @throws LineTooLongError when a line passes the limit.
   */
  push(chunk: string): NumberedLine[] {
    const out: NumberedLine[] = [];
    let from = 0;
    for (let nl = chunk.indexOf("\n"); nl !== -1; nl = chunk.indexOf("\n", from)) {
      let text = chunk.slice(from, nl);
      if (this.#parts.length > 0) {
        this.#partChars += text.length;
        this.#parts.push(text);
        text = this.#parts.join("");
        this.#parts = [];
        this.#partChars = 0;
      }
      if (text.length > this.max) throw new LineTooLongError(this.#lines + 1);
      out.push(this.#take(text));
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.#parts.push(from === 0 ? chunk : chunk.slice(from));
      this.#partChars += chunk.length - from;
      if (this.#partChars > this.max) throw new LineTooLongError(this.#lines + 1);
    }
    return out;
  }

  /** The last line, when the input did not end with "\n". */
  end(): NumberedLine | undefined {
    if (this.#parts.length === 0) return undefined;
    const text = this.#parts.join("");
    this.#parts = [];
    this.#partChars = 0;
    return this.#take(text);
  }
}

/** How many "\n" `text` holds. */
export function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
