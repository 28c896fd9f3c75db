/**
 * A reader of stdout that goes away (`clarifai-audit … | head -1`) is the normal end of a pipeline,
 * not a failure: main.ts installs this once for every command, so none prints `write EPIPE`.
 */

/** Exits 0 at once when the reader of `stream` is gone; other stream errors stay errors. */
export function exitOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

/**
 * A stderr nobody reads any more: nothing can be said there, so its EPIPE is dropped and the
 * command ends with its own exit code (an unheard error report is no reason to crash instead).
 */
export function ignoreEpipe(stream: NodeJS.WriteStream = process.stderr): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}
