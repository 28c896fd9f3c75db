/**
 * Durations as people write them: `90s`, `15m`, `24h`, `7d`, `1h30m`, `500ms`, `2w`. A bare number is
 * refused (seconds or milliseconds? the reader would have to guess). Command-line flags, the
 * emulator's options and rules files all take this one form.
 */

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

/** Milliseconds in `text`, or undefined when it is not a duration (or over 100 years). */
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

/**
 * Why {@link parseDurationMs} refuses `text`, in words (a duration of the right form but over the
 * limit, or no duration at all), with `examples` of what it takes.
 */
export function durationProblem(text: string, examples = "90s, 24h, 1h30m"): string {
  if (parseDurationMs(text.replace(/\d+(?:\.\d+)?/g, "1")) !== undefined) {
    return `"${text}" is longer than the limit of 100 years`;
  }
  return `not a duration: "${text}" (use a number with a unit: ms, s, m, h, d, w — e.g. ${examples})`;
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
