/**
 * Durable writes of state files (manifests, checkpoints, reports): what is written survives a
 * crash or power loss once the call returns, and a reader never sees half a file.
 */
import { access, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { checkRegularOrAbsent, openRegular } from "./outputPath.js";

/** Whether `path` exists (any kind of file; false when it cannot be reached either). */
export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * `mkdir -p`, one level at a time. Node's own `mkdir(dir, { recursive: true })` (20.x) loops forever
 * in its thread pool on a path such as /proc/sys/x, where mkdir(2) says ENOENT although the parent
 * exists: the command then spins at full CPU and cannot finish even on SIGTERM. Here each missing
 * level is made once, and its error is thrown.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      await stat(d);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || dirname(d) === d) throw error;
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) {
    await mkdir(d).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  }
}

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

/** Whether process `pid` (on this host) is alive. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the private files `.NAME.PID.TAG` beside `path` (TAG matching `tag`) whose writer is gone:
 * what a process killed (SIGKILL) between creating such a file and renaming or removing it leaves.
 */
export async function sweepDeadWriters(path: string, tag: RegExp): Promise<void> {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)$/.exec(name.slice(prefix.length));
    if (m === null || !tag.test(m[2] as string)) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

/** Paths whose dead writers' temp files this process has swept (once per path is enough). */
const swept = new Set<string>();

/**
 * Atomically replaces `path` with `text`: temp file, fsync, rename, fsync of the directory; with
 * `mode`, the file has those permissions from its creation (a private key's 0600). The first write of a path in a process also removes temp files of writers killed mid-write.
 */
export async function writeFileAtomic(path: string, text: string, mode?: number): Promise<void> {
  if (!swept.has(path)) {
    swept.add(path);
    await sweepDeadWriters(path, /^tmp$/);
  }
  // Only a regular file is replaced: a link, FIFO or device at `path` is refused, not renamed over.
  await checkRegularOrAbsent("", path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fh = await openRegular("", tmp, "truncate", mode);
    try {
      // A temp file left by a killed writer keeps its permissions: `mode` is set before the text.
      if (mode !== undefined) await fh.chmod(mode);
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
