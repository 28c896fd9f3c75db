/**
 * How many pages may be in flight: additive increase, multiplicative decrease, as TCP and the AWS
 * SDKs' adaptive retry mode do. `ceiling` is the most; a page that needed retries (the server
 * throttled or failed it) halves the limit, and each run of as many clean pages as are allowed adds
 * one back. An account's rate limit then costs a few throttled calls, not one per page.
 */
export class AdaptiveConcurrency {
  #limit: number;
  #inFlight = 0;
  #cleanRun = 0;
  /** Decreases so far; a page sent before the last one was sent at an older limit. */
  #epoch = 0;
  #lowest: number;

  constructor(readonly ceiling: number) {
    if (!Number.isInteger(ceiling) || ceiling < 1)
      throw new RangeError(`ceiling: ${ceiling} is not an integer ≥ 1`);
    this.#limit = ceiling;
    this.#lowest = ceiling;
  }

  /** Pages allowed in flight now. */
  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Fewest pages allowed in flight so far. */
  get lowest(): number {
    return this.#lowest;
  }

  /** Times the limit was halved. */
  get backoffs(): number {
    return this.#epoch;
  }

  /** Whether another page may be sent now. */
  get canSend(): boolean {
    return this.#inFlight < this.#limit;
  }

  /** A page is sent; pass the ticket to {@link settle} when it returns. */
  send(): number {
    this.#inFlight++;
    return this.#epoch;
  }

  /**
   * A page returned: `retried` when it needed retries, undefined when it failed (nothing learned).
   * A page sent before the last decrease does not halve again (its trouble was already answered).
   */
  settle(ticket: number, retried: boolean | undefined): void {
    this.#inFlight--;
    if (retried === undefined) return;
    if (retried) {
      this.#cleanRun = 0;
      if (ticket === this.#epoch && this.#limit > 1) {
        this.#limit = Math.floor(this.#limit / 2);
        this.#epoch++;
        this.#lowest = Math.min(this.#lowest, this.#limit);
      }
    } else if (this.#limit < this.ceiling && ++this.#cleanRun >= this.#limit) {
      this.#limit++;
      this.#cleanRun = 0;
    }
  }
}
