/**
 * A test's child program (a script calling the library, e.g. runSync into a store) bundled with
 * esbuild into `dir/bin/NAME.mjs`, so a test can SIGKILL a real process at any instant without a
 * build of the packages. Its npm packages (DuckDB's native addon, grpc-js, the AWS SDK…) stay
 * external and load from this checkout's node_modules, linked beside it.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";

/** Bundles `entry` (a path relative to the checkout) into `dir/bin/`; resolves to the program's path. */
export async function bundleChild(entry: string, dir: string): Promise<string> {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  try {
    symlinkSync(join(process.cwd(), "node_modules"), join(bin, "node_modules"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const program = join(bin, basename(entry).replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [join(process.cwd(), entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: program,
    packages: "external",
    tsconfig: join(process.cwd(), "tsconfig.json"),
    logLevel: "warning",
  });
  return program;
}
