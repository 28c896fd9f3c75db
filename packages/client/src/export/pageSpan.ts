/**
 * How much time one full page is expected to span, learned from the walk: the scheduler cuts
 * pieces of about that width next to the writer, so the pages in flight are the next ones written.
 */
import { tsToNs } from "../domain/timestamps.js";
import type { WalkEntry } from "./sliceWalk.js";

/** Nanoseconds one full page spans, as learned so far. */
export class PageSpanEstimator {
  #span: bigint | undefined;

  constructor(private readonly perPage: number) {}

  /** Undefined until a page or a finished slice told how dense the log is. */
  get span(): bigint | undefined {
    return this.#span;
  }

  /**
   * The width of the next piece to cut: 7/8 of a page, so the page in flight usually reaches past
   * the cut and ends its walk. Undefined before anything was learned.
   */
  get step(): bigint | undefined {
    if (this.#span === undefined) return undefined;
    const step = (this.#span * 7n) / 8n;
    return step < 1n ? 1n : step;
  }

  /** A full page (at least half of `perPage`, not a slice's last) sets the span to what it covered. */
  observePage(entries: readonly WalkEntry[], last: boolean): void {
    const first = entries[0]?.timestamp;
    const end = entries[entries.length - 1]?.timestamp;
    if (!last && first !== undefined && end !== undefined && entries.length >= this.perPage / 2) {
      const span = tsToNs(end) - tsToNs(first);
      this.#span = span > 0n ? span : 1n;
    }
  }

  /**
   * A finished slice tells how many entries its width held: a page there spans about width ×
   * perPage / entries. Where that is wider than the span learned so far (a sparse stretch, the tail
   * after the newest entry, a small export), splitting stops paying: pieces would come back nearly
   * empty, one request each. A nearly empty piece at least doubles the span, so a stretch cut too
   * fine (a span learned from ties can be 1 ns) is covered in a few growing pieces, not billions.
   * Full pages in a dense stretch set the span back ({@link observePage}).
   */
  observeSlice(width: bigint, emitted: number): void {
    if (width <= 0n) return;
    let span = (width * BigInt(this.perPage)) / BigInt(Math.max(1, emitted));
    if (this.#span !== undefined && emitted < this.perPage / 4 && span < this.#span * 2n)
      span = this.#span * 2n;
    if (this.#span === undefined || span > this.#span) this.#span = span;
  }
}
