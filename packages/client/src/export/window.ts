/**
 * Window planning: cutting a pinned window into the slices the scheduler starts with. Pure.
 */
import { compareTs, nsToTs, type Ts, tsToNs } from "../domain/timestamps.js";
import type { Slice } from "./sliceWalk.js";

/**
 * Cuts `[from, to]` into `count` slices of equal width (the last one inclusive of `to`). Fewer
 * slices when the window is narrower than `count` nanoseconds.
 */
export function planSlices(from: Ts, to: Ts, count: number): Slice[] {
  const a = tsToNs(from);
  const b = tsToNs(to);
  if (compareTs(from, to) >= 0) return [{ from, to, last: true }];
  const n = BigInt(Math.max(1, Math.min(count, Number(b - a))));
  const slices: Slice[] = [];
  for (let i = 0n; i < n; i++) {
    slices.push({
      from: nsToTs(a + ((b - a) * i) / n),
      to: nsToTs(a + ((b - a) * (i + 1n)) / n),
      last: i === n - 1n,
    });
  }
  return slices;
}

/**
 * Plans `count` slices over `[from, to]`, spacing the inner boundaries over where the data is
 * (`first` … `last`, the oldest and newest entries the probes found): the outer slices reach out to
 * the window's ends.
 */
export function planWindow(from: Ts, to: Ts, first: Ts, last: Ts, count: number): Slice[] {
  const lo = compareTs(first, from) > 0 ? first : from;
  const hi = compareTs(last, to) < 0 ? last : to;
  if (count <= 1 || compareTs(lo, hi) >= 0) return [{ from, to, last: true }];
  const slices = planSlices(lo, nsToTs(tsToNs(hi) + 1n), count);
  slices[0] = { ...(slices[0] as Slice), from };
  const end = slices[slices.length - 1] as Slice;
  slices[slices.length - 1] = { ...end, to, last: true };
  return slices;
}

/**
 * The slices left to walk from a cursor's slice: the rest of that slice (unless it was walked to its
 * end), then everything after it up to the window's end, as one slice.
 */
export function remainingSlices(slice: Slice, sliceDone: boolean, windowTo: Ts): Slice[] {
  const rest: Slice[] = [];
  if (!sliceDone) rest.push(slice);
  if (!slice.last) rest.push({ from: slice.to, to: windowTo, last: true });
  return rest;
}
