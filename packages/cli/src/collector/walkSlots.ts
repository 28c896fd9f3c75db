/**
 * How many accounts of a collector walk at once. Each walk holds its destinations' commit queues,
 * a DuckDB instance per lake and its pages in flight, so ten accounts walking side by side held ten
 * of each (bench part 11: peak RSS of 10 accounts × 3 destinations 923 MB, 4.1× one `sync`); an
 * account whose turn has not come waits for a slot before its round, then walks its whole round.
 * Rounds of accounts that are in step are short, so waiting costs them little; a backfill of many
 * accounts is walked a few at a time.
 */

/** The default number of accounts that walk at once (bench/notes.md, issue 23). */
export const DEFAULT_WALK_SLOTS = 2;

/** A counting semaphore of walks, served in call order. */
export class WalkSlots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!(Number.isInteger(size) && size >= 1))
      throw new RangeError(`walk slots: ${size} is not a whole number ≥ 1`);
    this.#free = size;
  }

  /** Slots free now. */
  get free(): number {
    return this.#free;
  }

  /**
   * Resolves with the release of a slot once one is free (in call order), or with a no-op release
   * as soon as `signal` aborts (the caller checks the signal and does not walk).
   */
  take(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.resolve(() => {});
    if (this.#free > 0 && this.#waiting.length === 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve) => {
      const granted = () => {
        signal.removeEventListener("abort", aborted);
        resolve(this.#releaser());
      };
      const aborted = () => {
        const i = this.#waiting.indexOf(granted);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(() => {});
      };
      this.#waiting.push(granted);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  /** A release that gives its slot back once, to the longest waiting caller if any. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free++;
    };
  }
}
