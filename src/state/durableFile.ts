/**
 * Durable writes of state files (manifests, checkpoints, reports): what is written survives a
 * crash or power loss once the call returns, and a reader never sees half a file.
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** fsync of a directory, so that a rename or a new file in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms refuse fsync on directories; the rename is still atomic there.
  } finally {
    await fh?.close();
  }
}

/** fsync of a file written by someone else (DuckDB's COPY, say) before it is renamed into place. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Atomically replaces `path` with `text`: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    // A failed write (a full disk, a path that became a directory) leaves no temp file behind.
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await fsyncDir(dirname(path));
}

/**
 * A state file's text, or undefined when there is none; any other failure to read it throws what
 * `failure` makes of the error code (each state file words its own one-line error).
 */
export async function readStateFile(
  path: string,
  failure: (code: string) => Error,
): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw failure(code ?? (error as Error).message);
  }
}
