/**
 * The one check of every file the CLI writes (export --out and its partial/manifest files, report
 * --out/--pdf, tail and watch checkpoints, watch's dead-letter file and delivery journal, a lake's
 * state file): only a regular file is ever replaced or appended to, or one created anew. A symbolic
 * link, a FIFO, a device, a socket or a directory at the path is refused, so `--out /dev/null` run as
 * root cannot replace the device, a FIFO cannot block the command forever, and a link cannot redirect
 * a write to its target. lstat(2) is used, never stat(2): a link is refused, not followed.
 *
 * Each check takes `option`, the option that named the path (the caller's name for it, e.g. `out`),
 * or "" when none did: errors lead with it.
 */
import { constants } from "node:fs";
import { access, lstat, open, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { AuditUsageError } from "../domain/errors.js";

/**
 * A path that is not a regular file (or a folder it cannot be created in): a usage error whose
 * `input` is the option that named the path (e.g. `out`), or the path itself when no option did.
 */
export class OutputPathError extends AuditUsageError {
  override name = "OutputPathError";
  /** The path refused. */
  readonly path: string;

  constructor(option: string, path: string, problem: string) {
    super({ input: option || path, problem }, option === "" ? problem : `\`${option}\`: ${problem}`);
    this.path = path;
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/** What kind of non-regular file `st` is, in words. */
function kindOf(st: Awaited<ReturnType<typeof lstat>>): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * What stands at `path`: "absent", "file" (a regular file), or the words for anything else.
 * @throws OutputPathError when lstat fails for another reason than ENOENT.
 */
async function whatIsAt(option: string, path: string): Promise<"absent" | "file" | string> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (error) {
    const code = codeOf(error);
    if (code === "ENOENT") return "absent";
    throw new OutputPathError(option, path, `cannot use ${path} (${code})`);
  }
  return st.isFile() ? "file" : kindOf(st);
}

/**
 * Refuses `path` as a file to write unless it is absent or a regular file.
 * @throws OutputPathError `OPTION: PATH is a FIFO (named pipe), not a regular file; …`.
 */
export async function checkRegularOrAbsent(option: string, path: string): Promise<void> {
  const what = await whatIsAt(option, path);
  if (what === "absent" || what === "file") return;
  throw new OutputPathError(
    option,
    path,
    `${path} is ${what}, not a regular file; only a regular file is replaced (name one, or a new file)`,
  );
}

/**
 * The full check of an output file named on the command line, made before the first request: a
 * file name (not empty, not ending in a slash), a folder that exists and is writable, and the path
 * itself absent or a regular file ({@link checkRegularOrAbsent}).
 * @throws OutputPathError naming `option`, the path and what is wrong.
 */
export async function checkOutputPath(option: string, path: string): Promise<void> {
  if (path.trim() === "") throw new OutputPathError(option, path, `empty path; give a file name`);
  if (/[/\\]$/.test(path))
    throw new OutputPathError(option, path, `${path} names a folder; give a file name`);
  const dir = dirname(resolve(path));
  const folder = await stat(dir).catch((error: unknown) => codeOf(error));
  if (typeof folder === "string") {
    throw new OutputPathError(
      option,
      path,
      folder === "ENOENT"
        ? `the folder ${dir} does not exist; create it first`
        : `cannot use the folder ${dir} (${folder})`,
    );
  }
  if (!folder.isDirectory()) throw new OutputPathError(option, path, `${dir} is not a folder`);
  await access(dir, constants.W_OK | constants.X_OK).catch(() => {
    throw new OutputPathError(option, path, `the folder ${dir} is not writable`);
  });
  await checkRegularOrAbsent(option, path);
}

/**
 * Opens `path` for writing, created when absent, after {@link checkRegularOrAbsent}: appending, or
 * truncated to nothing. O_NOFOLLOW makes a link put there since the check fail (ELOOP) and
 * O_NONBLOCK a FIFO put there since fail (ENXIO) instead of blocking until a reader comes.
 */
export async function openRegular(
  option: string,
  path: string,
  how: "append" | "truncate",
  /** The permissions of a file it creates (before the umask). */
  permissions = 0o666,
): Promise<Awaited<ReturnType<typeof open>>> {
  await checkRegularOrAbsent(option, path);
  const mode = how === "append" ? constants.O_APPEND : constants.O_TRUNC;
  const fh = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | mode,
    permissions,
  ).catch((error: unknown) => {
    throw new OutputPathError(option, path, `cannot open ${path} (${codeOf(error)})`);
  });
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new OutputPathError(
      option,
      path,
      `${path} is ${kindOf(st)}, not a regular file; only a regular file is written`,
    );
  }
  return fh;
}
