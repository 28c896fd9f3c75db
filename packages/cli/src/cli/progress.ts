/**
 * The progress line on stderr (cli-progress), the one for every command that walks or reads many
 * entries (export, sync, a live report, rules test), through the runner's `ctx.progress`. Drawn
 * only when stderr is a terminal and the command did not turn it off (--quiet), so pipes and files
 * stay clean; redrawn at most 5 times a second; stopped (by the command or the runner) before the
 * summary line. With a reading's `fraction` (the export plan's estimate, or the share of a file
 * read) it shows a bar, % and an ETA; without one, counts, rate and elapsed time.
 */

import type { ExportProgress } from "@clarifai-audit/client/internal/export/engine.js";
import cliProgress from "cli-progress";

// A CommonJS module whose `Format` Node's ESM loader cannot name: taken from its default export.
const { Format, SingleBar } = cliProgress;

/** One reading of a command's progress. */
export interface ProgressReading {
  /** Entries done so far. */
  done: number;
  /** Share of the whole done, 0–1, when it can be estimated. */
  fraction?: number;
  /** The estimated total of entries ("of ~N"), when known. */
  total?: number;
  /** The command's own figures after the rate, e.g. "12 pages | retries 0". */
  detail?: string;
}

/** Progress reporter; a no-op when disabled or not on a terminal. */
export interface ProgressView {
  update(reading: ProgressReading): void;
  /** Ends the line (kept on the screen); the next update starts a new one (sync --follow's next run). */
  stop(): void;
}

/** What the runner needs of stderr to draw on it. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const NO_PROGRESS: ProgressView = { update() {}, stop() {} };
/** Redraws per second at most: enough to look alive, little enough to cost nothing. */
const FPS = 5;
/** Readings below this share give no ETA yet (one early page says little about the rest). */
const ETA_FROM = 0.01;
const TIME_OPTIONS = { autopaddingChar: "0" } as Parameters<typeof Format.TimeFormat>[1];
const BAR_OPTIONS = {
  barsize: 20,
  barCompleteString: "█".repeat(20),
  barIncompleteString: "░".repeat(20),
  barGlue: "",
};

/** The reading of an export engine's walk (export, sync, a live report): its estimate when it has one. */
export function walkReading(p: ExportProgress): ProgressReading {
  return {
    done: p.entries,
    ...(p.estimate !== undefined ? { fraction: p.estimate.fraction, total: p.estimate.entries } : {}),
    detail: `${p.pages} pages | retries ${p.retries} | shifted ${p.shiftedPages}`,
  };
}

/**
 * `source`'s batches, passed through as they are; after each is taken, `view` is told the entries so
 * far and, when `fraction` gives one, the share done (rules test: the share of its file read).
 */
export async function* withProgress<T>(
  source: AsyncIterable<T[]>,
  view: ProgressView,
  fraction: () => number | undefined = () => undefined,
): AsyncGenerator<T[]> {
  let done = 0;
  for await (const batch of source) {
    yield batch;
    done += batch.length;
    const f = fraction();
    view.update({ done, ...(f !== undefined ? { fraction: f } : {}) });
  }
}

/** The line of a reading, `seconds` after the line started. */
export function progressLine(r: ProgressReading, seconds: number, unit = "entries"): string {
  const rate = seconds > 0 ? Math.round(r.done / seconds) : 0;
  const detail = r.detail ? ` | ${r.detail}` : "";
  if (r.fraction === undefined)
    return `${r.done} ${unit} | ${rate} ${unit}/s | ${seconds.toFixed(1)} s${detail}`;
  const f = Math.min(1, Math.max(0, r.fraction));
  const eta =
    f >= 1
      ? "0s"
      : f < ETA_FROM
        ? "…"
        : Format.TimeFormat(Math.ceil((seconds * (1 - f)) / f), TIME_OPTIONS, 5);
  const of = r.total !== undefined ? ` of ~${r.total}` : "";
  const bar = Format.BarFormat(f, BAR_OPTIONS as Parameters<typeof Format.BarFormat>[1]);
  return `${bar} ${Math.floor(f * 100)}% | ETA ${eta} | ${r.done}${of} ${unit} | ${rate} ${unit}/s${detail}`;
}

/** A progress view on `stream` when it is a terminal and `enabled`; otherwise a no-op. */
export function progressView(enabled: boolean, stream: ProgressStream): ProgressView {
  if (!enabled || !stream.isTTY) return NO_PROGRESS;
  // From now on the first line (the probes count: they are part of the wait), from its start for a next one.
  let started = performance.now();
  let lines = 0;
  let reading: ProgressReading = { done: 0 };
  const bar = new SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: () => progressLine(reading, (performance.now() - started) / 1000),
    hideCursor: true,
    fps: FPS,
  });
  // Drawn from the first reading on: lines printed before it (the resolved window) keep their own line.
  let running = false;
  return {
    update(r) {
      reading = r;
      if (!running) {
        running = true;
        if (lines++ > 0) started = performance.now();
        bar.start(1, 0);
      }
      // The line is drawn from `reading`; the value only marks a change for cli-progress's redraw.
      bar.update(r.done);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
