/**
 * The export progress line on stderr (cli-progress), only when stderr is a terminal and not --quiet,
 * so stdout and redirected stderr stay clean. The total is unknown, so it shows counts and rate.
 */

import type { ExportProgress } from "@clarifai-audit/client/internal/export/engine.js";
import { SingleBar } from "cli-progress";

/** Progress reporter; a no-op when disabled. */
export interface ProgressView {
  update(progress: ExportProgress): void;
  stop(): void;
}

/** A progress view on `stream` when it is a terminal and `enabled`; otherwise a no-op. */
export function progressView(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (!enabled || !stream.isTTY) return { update() {}, stop() {} };
  const started = performance.now();
  const bar = new SingleBar({
    stream,
    format:
      "{entries} entries | {pages} pages | {rate} entries/s | {elapsed} s | retries {retries} | shifted {shifted}",
    hideCursor: true,
    fps: 5,
  });
  // Drawn from the first page on: lines printed before it (the resolved window) keep their own line.
  let running = false;
  return {
    update(p) {
      if (!running) {
        running = true;
        bar.start(0, 0, { entries: 0, pages: 0, rate: 0, elapsed: "0.0", retries: 0, shifted: 0 });
      }
      const seconds = (performance.now() - started) / 1000;
      bar.update({
        entries: p.entries,
        pages: p.pages,
        rate: seconds > 0 ? Math.round(p.entries / seconds) : 0,
        elapsed: seconds.toFixed(1),
        retries: p.retries,
        shifted: p.shiftedPages,
      });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
