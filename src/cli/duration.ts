/**
 * Durations on the command line: `90s`, `15m`, `24h`, `7d`, `1h30m`, `500ms`, `2w`. A bare number is
 * refused (seconds or milliseconds? the flag would have to guess).
 */
import { InvalidArgumentError } from "commander";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
const MAX_MS = 100 * 365 * 86_400_000;

/** Milliseconds in `text`, or undefined when it is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === "") return undefined;
  if (s === "0") return 0;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  return Number.isFinite(total) && total <= MAX_MS ? Math.round(total) : undefined;
}

/** A commander argument parser for duration flags. */
export function durationOption(flag: string): (value: string) => number {
  return (value: string) => {
    const ms = parseDurationMs(value);
    if (ms === undefined && parseDurationMs(value.replace(/\d+(?:\.\d+)?/g, "1")) !== undefined) {
      throw new InvalidArgumentError(`${flag}: "${value}" is longer than the limit of 100 years`);
    }
    if (ms === undefined) {
      throw new InvalidArgumentError(
        `${flag}: not a duration: "${value}" (use a number with a unit: ms, s, m, h, d, w — e.g. 90s, 24h, 1h30m)`,
      );
    }
    return ms;
  };
}

/** A commander argument parser for integer flags within [min, max]. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag}: "${value}" is not an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Collects a repeatable flag into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `ms` as a duration the flags accept back (`60s`, `1h30m`, `250ms`), for help texts and messages:
 * a bare number of milliseconds would be refused by the very flag it describes.
 */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
