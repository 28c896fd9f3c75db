/**
 * A sink's lifecycle as the engine drives it (the third part of `exportToSink`, engine.ts): open
 * (the cursor to resume from), start (a new walk's first cursor), write (each batch, in order;
 * its resolution is the acknowledgement the walk waits for: backpressure), flush at the commit
 * interval (the durability acknowledgement), and exactly one close: complete, interrupted, or failed
 * (after flushing what was written, whatever else goes wrong on the way out).
 */
import type { ExportBatch, ExportCursor, ExportSink } from "./sink.js";

/** The engine's side of one {@link ExportSink}: the order of calls and the commit interval. */
export class SinkSession {
  #lastCommit: number;

  constructor(
    readonly sink: ExportSink,
    readonly commitIntervalMs: number,
    readonly now: () => number,
  ) {
    this.#lastCommit = now();
  }

  /** Opens the sink: the last durable cursor, or undefined for a new walk. */
  open(identity: Record<string, unknown>): Promise<ExportCursor | undefined> {
    return this.sink.open({ identity });
  }

  /** Tells the sink a new walk's window is pinned (its starting cursor). */
  async start(cursor: ExportCursor): Promise<void> {
    await this.sink.start?.(cursor);
  }

  /** The walk begins: the commit interval counts from now (not from before the probes). */
  walking(): void {
    this.#lastCommit = this.now();
  }

  /** Hands the sink a batch; resolves once the sink has taken it (its acknowledgement). */
  async write(batch: ExportBatch): Promise<void> {
    await this.sink.write(batch);
  }

  /** Flushes when the commit interval has passed since the last flush (call after each batch). */
  async commitIfDue(): Promise<void> {
    if (this.now() - this.#lastCommit < this.commitIntervalMs) return;
    await this.sink.flush?.();
    this.#lastCommit = this.now();
  }

  /** Ends the run: flushes and closes, complete or (stopped by the signal) not. */
  async end(complete: boolean): Promise<void> {
    await this.sink.flush?.();
    await this.sink.close({ complete });
  }

  /** Ends a failed run: what was written is flushed if it can be, then the sink is closed with the error; neither can mask it. */
  async fail(error: unknown, written: boolean): Promise<void> {
    if (written) await this.sink.flush?.()?.catch(() => undefined);
    await this.sink.close({ complete: false, error }).catch(() => undefined);
  }
}
