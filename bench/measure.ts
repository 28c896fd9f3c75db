/** Timing helpers: alternating rounds, medians, no wall-clock assertions. */
import { performance } from "node:perf_hooks";

export interface Contender {
  name: string;
  /** Runs once over the fixture; returns something so the work cannot be optimised away. */
  run: () => unknown;
}

export interface Measured {
  name: string;
  /** Median seconds per run. */
  seconds: number;
  /** All samples (seconds per run), in round order. */
  samples: number[];
}

let sink = 0;
/** Keeps results alive so V8 cannot drop the measured work. */
export function consume(v: unknown): void {
  if (v !== undefined && v !== null) sink = (sink + 1) | 0;
}
export function sinkValue(): number {
  return sink;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Calibrates each contender to ~`sliceMs` per sample, then runs `rounds` rounds in which every
 * contender takes one sample in turn (so drift and noisy neighbours hit all of them alike).
 */
export function compare(contenders: Contender[], rounds: number, sliceMs: number): Measured[] {
  const reps = contenders.map((c) => {
    for (let i = 0; i < 3; i++) consume(c.run());
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < sliceMs / 2) {
      consume(c.run());
      n++;
    }
    return Math.max(1, Math.round((n * sliceMs) / Math.max(1e-3, performance.now() - t0)));
  });
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    contenders.forEach((c, i) => {
      const n = reps[i] as number;
      const t0 = performance.now();
      for (let k = 0; k < n; k++) consume(c.run());
      (samples[i] as number[]).push((performance.now() - t0) / 1000 / n);
    });
  }
  return contenders.map((c, i) => ({
    name: c.name,
    seconds: median(samples[i] as number[]),
    samples: samples[i] as number[],
  }));
}
