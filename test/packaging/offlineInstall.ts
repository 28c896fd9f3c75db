/**
 * Installing packed tarballs into an empty project without the network. `npm ci` fills npm's cache
 * with every tarball of the repository's lockfile, but not with the registry's package documents
 * (the lists of versions that `npm install NAME` resolves a range against), so a plain
 * `npm install --offline ./pkg.tgz` stops at ENOTCACHED. The empty project therefore starts with a
 * package-lock.json holding the tarball's dependency closure exactly as the repository's lockfile
 * pins it: npm then resolves every dependency edge to a locked node and only fetches tarballs, all of
 * them in the cache. It is the tree `npm install` would build at these pinned versions.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface LockEntry {
  version?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  hasInstallScript?: boolean;
  [key: string]: unknown;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

/** The lockfile key Node's resolution reaches for `name` required from the package at `from`. */
function locate(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (dir === "") return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up >= 0 ? dir.slice(0, up) : "";
  }
}

/**
 * The entries of `rootLock` that the workspace package at `workspace` (a lockfile key such as
 * "packages/client") needs at run time, keyed by where they go in a project that depends on it
 * directly. Workspace packages (links) are left out: they come from their own tarballs.
 */
export function closureOf(rootLock: Lockfile, workspaces: string[]): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const seen = new Set<string>();
  const queue = [...workspaces];
  while (queue.length > 0) {
    const from = queue.shift() as string;
    const entry = rootLock.packages[from] as LockEntry;
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers[n]?.optional),
    ];
    for (const name of names) {
      const key = locate(rootLock, from, name);
      if (key === undefined || seen.has(key)) continue;
      seen.add(key);
      const found = rootLock.packages[key] as LockEntry;
      if (found.link) continue;
      // A workspace's own nested dependencies sit at the top of a project that depends on it.
      const target = key.replace(/^packages\/[^/]+\//, "");
      const { dev: _d, devOptional: _o, peer: _p, extraneous: _e, ...kept } = found;
      const clash = out[target];
      if (clash && clash.version !== found.version) {
        throw new Error(`${target}: ${clash.version} and ${found.version} both wanted at the top`);
      }
      out[target] = kept;
      queue.push(key);
    }
  }
  return out;
}

/** Writes package.json and the seeded package-lock.json of an empty project in `dir`. */
export function seedProject(dir: string, rootLockPath: string, workspaces: string[]): void {
  const rootLock = JSON.parse(readFileSync(rootLockPath, "utf8")) as Lockfile;
  const manifest = { name: "tarball-check", version: "1.0.0", private: true, type: "module" };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const lock = {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages: { "": { name: manifest.name, version: manifest.version }, ...closureOf(rootLock, workspaces) },
  };
  writeFileSync(join(dir, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
}

/** Runs a command, resolving with its output; rejects with both streams when it fails. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** What an install put into `dir`/node_modules. */
export interface InstallFigures {
  /** Packages installed (entries of npm's hidden lockfile). */
  packages: number;
  /** Sum of the files' sizes, in bytes. */
  bytes: number;
  /** Native addons (.node files), relative to node_modules. */
  addons: string[];
  /** Packages that declare an install script. */
  installScripts: string[];
}

function walk(dir: string, visit: (path: string, size: number) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, visit);
    else if (entry.isFile()) visit(path, statSync(path).size);
  }
}

/** Counts what `npm install` left in `dir`. */
export function measureInstall(dir: string): InstallFigures {
  const modules = join(dir, "node_modules");
  const hidden = JSON.parse(readFileSync(join(modules, ".package-lock.json"), "utf8")) as Lockfile;
  const entries = Object.entries(hidden.packages).filter(([key]) => key.startsWith("node_modules/"));
  let bytes = 0;
  const addons: string[] = [];
  walk(modules, (path, size) => {
    bytes += size;
    if (path.endsWith(".node")) addons.push(path.slice(modules.length + 1));
  });
  return {
    packages: entries.length,
    bytes,
    addons,
    installScripts: entries.filter(([, e]) => e.hasInstallScript).map(([key]) => key),
  };
}
