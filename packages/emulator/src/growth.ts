/**
 * A growing log: generated entries appended on a timer while the emulator serves, most after the
 * newest entry and a fraction inside the span already there (late arrivals, in windows that clients
 * may already have read). The fault knob `growth` drives one for the data user; each account of
 * `accounts` may have its own.
 */
import type { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { EntryGenerator } from "./generate.js";
import type { GrowthOptions } from "./options.js";
import { Rng } from "./rng.js";
import type { AuditLog } from "./store.js";

/** Appends growth batches: most after the newest entry, `lateFraction` inside the existing span. */
export class Growth {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: AuditLog) {}

  /** Starts (or replaces) the timer; `undefined` stops it. */
  set(g: GrowthOptions | undefined, seed: number): void {
    this.stop();
    if (g === undefined) return;
    const gen = new EntryGenerator(seed);
    // Its own stream, so that the late/new split and late times are reproducible for a seed.
    const rng = new Rng(seed ^ 0x6a09e667);
    this.timer = setInterval(() => this.tick(gen, rng, g.count, g.lateFraction), g.everyMs);
    this.timer.unref();
  }

  private tick(gen: EntryGenerator, rng: Rng, count: number, lateFraction: number): void {
    const batch: AuditLogEntry[] = [];
    const span = this.log.span();
    while (batch.length < count) {
      if (span !== undefined && rng.chance(lateFraction)) {
        const a = span.first.seconds;
        const b = span.last.seconds;
        batch.push(...gen.at(a + rng.int(b - a + 1), b > a ? rng.int(1_000_000) : 0));
      } else {
        if (span !== undefined) gen.advanceTo(span.last);
        batch.push(...gen.next());
      }
    }
    this.log.add(batch.slice(0, count));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
