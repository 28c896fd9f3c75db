/**
 * Per-call fault decisions. Knob semantics are documented on {@link FaultOptions}.
 */
import { type FaultOptions, NO_FAULTS, validateFaults } from "./options.js";
import { Rng } from "./rng.js";

/** What to do to one call. */
export interface FaultDecision {
  delayMs: number;
  drop: boolean;
  unavailable: boolean;
  throttle: boolean;
}

export class FaultController {
  private faults: FaultOptions = { ...NO_FAULTS };
  private rng = new Rng(NO_FAULTS.seed);
  private throttleCount = 0;
  private unavailableCount = 0;
  private dropCount = 0;
  private throttleBurstLeft = 0;
  private unavailableBurstLeft = 0;
  /** Called when the growth setting changes. */
  onGrowthChange: ((g: FaultOptions["growth"], seed: number) => void) | undefined;

  get current(): Readonly<FaultOptions> {
    return this.faults;
  }

  /** Merges `f` into the current faults; counters of the knobs it sets restart. */
  set(f: Partial<FaultOptions>): void {
    validateFaults(f);
    this.faults = { ...this.faults, ...f };
    if ("seed" in f) this.rng = new Rng(this.faults.seed);
    if ("throttleEvery" in f) this.throttleCount = 0;
    if ("unavailableEvery" in f) this.unavailableCount = 0;
    if ("dropConnectionEvery" in f) this.dropCount = 0;
    if ("throttleBurst" in f) this.throttleBurstLeft = this.faults.throttleBurst;
    if ("unavailableBurst" in f) this.unavailableBurstLeft = this.faults.unavailableBurst;
    if ("growth" in f) this.onGrowthChange?.(this.faults.growth, this.faults.seed);
  }

  reset(): void {
    this.faults = { ...NO_FAULTS };
    this.rng = new Rng(NO_FAULTS.seed);
    this.throttleCount = 0;
    this.unavailableCount = 0;
    this.dropCount = 0;
    this.throttleBurstLeft = 0;
    this.unavailableBurstLeft = 0;
    this.onGrowthChange?.(undefined, NO_FAULTS.seed);
  }

  /**
   * Decides the faults of the next call; every knob counts every call. `othersInFlight`: calls
   * being served when this one arrives (for `throttleAboveInFlight`).
   */
  next(othersInFlight = 0): FaultDecision {
    const f = this.faults;
    const delayMs = f.latencyMs + (f.jitterMs > 0 ? this.rng.next() * f.jitterMs : 0);
    this.dropCount++;
    const drop = f.dropConnectionEvery > 0 && this.dropCount % f.dropConnectionEvery === 0;
    this.unavailableCount++;
    let unavailable = f.unavailableEvery > 0 && this.unavailableCount % f.unavailableEvery === 0;
    if (f.unavailableProbability > 0 && this.rng.chance(f.unavailableProbability)) unavailable = true;
    if (this.unavailableBurstLeft > 0) {
      this.unavailableBurstLeft--;
      unavailable = true;
    }
    this.throttleCount++;
    let throttle = f.throttleEvery > 0 && this.throttleCount % f.throttleEvery === 0;
    if (f.throttleProbability > 0 && this.rng.chance(f.throttleProbability)) throttle = true;
    if (f.throttleAboveInFlight > 0 && othersInFlight >= f.throttleAboveInFlight) throttle = true;
    if (this.throttleBurstLeft > 0) {
      this.throttleBurstLeft--;
      throttle = true;
    }
    return { delayMs, drop, unavailable, throttle };
  }
}
