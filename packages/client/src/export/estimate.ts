/**
 * How far a walk has come, estimated from what the probes found: the API gives no count, but the
 * two probes that pin a new window return the oldest and newest entries in it, so the span of the
 * data is known. The walk writes oldest first, so the share of that span behind the newest entry
 * written is the share of the window walked — exact when the log is evenly dense, an estimate
 * otherwise — and entries so far ÷ that share estimates the window's size.
 */
import { compareTs, type Ts, tsToNs } from "../domain/timestamps.js";
import type { ExportCursor } from "./sink.js";

/** An estimate of a walk's progress (see {@link WalkEstimate}). */
export interface ProgressEstimate {
  /** Share of the window's data span walked, 0–1 (1 once the walk is complete). */
  fraction: number;
  /** Entries the whole window likely holds (at least those walked so far). */
  entries: number;
}

/** The estimate of one new walk, fed the newest entry time written after each batch. */
export class WalkEstimate {
  readonly #first: bigint;
  readonly #span: bigint;
  #position: bigint;

  /** `first` and `last`: the oldest and newest entries the probes found; `span` must be positive. */
  private constructor(first: bigint, span: bigint) {
    this.#first = first;
    this.#span = span;
    this.#position = first;
  }

  /**
   * An estimate for data from `first` to `last`; undefined when there is nothing to estimate from:
   * no data, a resumed walk (no probes), or all the data at one instant.
   */
  static of(first: Ts | undefined, last: Ts | undefined): WalkEstimate | undefined {
    if (first === undefined || last === undefined || compareTs(first, last) >= 0) return undefined;
    const a = tsToNs(first);
    return new WalkEstimate(a, tsToNs(last) - a);
  }

  /**
   * The estimate after a batch whose newest entry is at `newest` (undefined: an empty batch), with
   * `entries` walked in all and the batch's `cursor`; undefined before anything was walked.
   */
  after(newest: Ts | undefined, entries: number, cursor: ExportCursor): ProgressEstimate | undefined {
    if (cursor.complete) return { fraction: 1, entries };
    if (newest !== undefined) {
      const at = tsToNs(newest);
      if (at > this.#position) this.#position = at;
    }
    const walked = this.#position - this.#first;
    if (walked <= 0n || entries === 0) return undefined;
    // Entries that landed after the probes, newer than the newest they found, can pass it: capped.
    const fraction = Math.min(1, Number(walked) / Number(this.#span));
    return { fraction, entries: Math.max(entries, Math.round(entries / fraction)) };
  }
}
