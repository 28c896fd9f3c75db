/**
 * Reading a small file the tool keeps (state, lock, journal, rules) safely: only a regular file, never
 * more than a bound. A module of its own with no imports but Node's, so that the lock module, which
 * tests run as a program of its own, can read its files the same way.
 */
import { constants, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { ClarifaiAuditError } from "../domain/errors.js";

/**
 * The bytes of the regular file at `path`, at most `max` of them; undefined when there is none. A
 * FIFO is never waited on (O_NONBLOCK) and a file that grows while read is refused, not followed.
 * `inspect` sees the opened file's status before it is read (the file read, not a name that may
 * have been replaced since) and returns a problem to refuse it with (a config file's mode, its owner).
 * @throws what `fail` makes of the problem (one line): unreadable, not a regular file, too large.
 */
export async function readRegularFile(
  path: string,
  max: number,
  fail: (problem: string) => Error,
  what = "a state file",
  inspect?: (info: Stats) => string | undefined,
): Promise<Buffer | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not hang the command.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw fail(`cannot be read (${code ?? (error as Error).message})`);
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) {
      const kind = info.isDirectory()
        ? "a folder"
        : info.isFIFO()
          ? "a FIFO"
          : info.isSocket()
            ? "a socket"
            : info.isCharacterDevice() || info.isBlockDevice()
              ? "a device"
              : "not a file";
      throw new RegularFileError(`is ${kind}, not a regular file`);
    }
    const refused = inspect?.(info);
    if (refused !== undefined) throw new RegularFileError(refused);
    const limit = max >= 1024 * 1024 ? `${max / 1024 / 1024} MiB` : `${max / 1024} KiB`;
    if (info.size > max)
      throw new RegularFileError(`is ${info.size} bytes, larger than the ${limit} ${what} may be`);
    // Read at most max + 1 bytes whatever the size said: the file may grow under the read.
    const buf = Buffer.allocUnsafe(Math.min(max + 1, info.size + 65536));
    let at = 0;
    for (;;) {
      if (at === buf.length) break;
      const { bytesRead } = await fh.read(buf, at, buf.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    if (at > max) throw new RegularFileError(`is larger than the ${limit} ${what} may be`);
    if (at === buf.length)
      throw new RegularFileError("grew while it was read: is another process writing it?");
    return buf.subarray(0, at);
  } catch (error) {
    if (error instanceof RegularFileError) throw fail(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(`cannot be read (${code ?? (error as Error).message})`);
  } finally {
    await fh.close();
  }
}

/** A problem {@link readRegularFile} words for its caller's `fail`. */
class RegularFileError extends ClarifaiAuditError {}
