/**
 * What one run of the CLI reads and writes: its streams and its environment. The bin passes the
 * process's own (packages/cli/src/cli/main.ts); tests pass their own, so that a run needs no child process.
 */
import type { Readable, Writable } from "node:stream";

/** A stream the CLI writes to: a Writable that may say whether it is a terminal. */
export type CliOutput = Writable & { isTTY?: boolean };

/** The streams of one run. */
export interface CliIo {
  stdin: Readable;
  stdout: CliOutput;
  stderr: CliOutput;
}

/** The environment of one run (what commands would otherwise read from process.env). */
export type CliEnv = Readonly<Record<string, string | undefined>>;

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}
