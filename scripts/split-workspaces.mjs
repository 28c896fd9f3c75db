#!/usr/bin/env node
/**
 * Splits a tree in the single-package layout (src/, generated/, proto/ at the root) into the npm
 * workspaces packages/client, packages/emulator and packages/cli, and rewrites every path that
 * pointed into the old layout. Re-runnable: on an already split tree it moves nothing and rewrites
 * only what still points into the old layout (files added to src/ after a split, tests written
 * against src/), so it can run again after merging branches written in the old layout.
 *
 *   node scripts/split-workspaces.mjs [--dry-run] [--no-format]
 *
 * Run from anywhere inside the repository; it works on the repository root. Steps:
 * 1. `git mv` every tracked file under src/, generated/ and proto/ to its package (MOVES below:
 *    the client's folders, the emulator flattened into its package's src/, everything else,
 *    including folders this table has never heard of, into the CLI).
 * 2. In packages/**, test/**, bench/** and scripts/**, every double-quoted relative path (import and
 *    export specifiers, `import()`, `typeof import()`, `new URL(…)`) is resolved against the OLD
 *    location of the file that holds it; when it names a file that moved, it becomes the path to its
 *    new location: relative inside one package; the package's name across packages
 *    (`@clarifai-audit/client`, `…/client/export`, `…/client/internal/<path>.js`,
 *    `@clarifai-audit/emulator`, …); relative into packages/<pkg>/src from test/; the package's
 *    name from bench/ (benchmarks measure the built packages, as users load them).
 * 3. In test/, bench/, scripts/ and Markdown, paths of the build output (`dist/src/cli/…`,
 *    `"dist", "src", "cli"`) become the owning package's (`packages/cli/dist/src/cli/…`); everywhere,
 *    mentions of moved source files in prose (`src/client/retry.ts`); and the literal edits in FIXUPS.
 * 4. `biome check --write` (formatter and import sorting only) on the files it changed.
 *
 * An import the package graph forbids (client → emulator or cli, emulator → cli) is listed and the
 * script exits 1 after writing everything else: such an edge has to be removed in the source, or the
 * folder mapped to the right package in SRC_MOVES (a new library folder imported by export/ belongs
 * to the client, say) and the script run again.
 *
 * Merging branches written in the old layout: merge them first (old layout, tests green), then
 * cherry-pick the workspaces branch's first commit (configuration, tests, this script; resolve
 * package.json by keeping both sides' scripts and dependencies, and regenerate the lockfile with
 * `npm install`), run this script and commit its output, then cherry-pick the commits after the
 * script's output commit. Merging the output commit itself instead conflicts on every moved file.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";

const args = new Set(process.argv.slice(2));
const DRY = args.has("--dry-run");
const FORMAT = !args.has("--no-format");
for (const a of args) {
  if (a !== "--dry-run" && a !== "--no-format") {
    console.error(`split-workspaces: unknown argument '${a}' (allowed: --dry-run, --no-format)`);
    process.exit(2);
  }
}

const ROOT = execFileSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();
process.chdir(ROOT);

/** The packages, in dependency order: a package may import only the ones before it. */
const PACKAGES = [
  { key: "client", dir: "packages/client", name: "@clarifai-audit/client" },
  { key: "emulator", dir: "packages/emulator", name: "@clarifai-audit/emulator" },
  { key: "cli", dir: "packages/cli", name: "clarifai-audit" },
];
/** Public entry points by path inside a package: what cross-package imports of them are named. */
const ENTRIES = {
  "packages/client/src/index": "@clarifai-audit/client",
  "packages/client/src/export/index": "@clarifai-audit/client/export",
  "packages/emulator/src/index": "@clarifai-audit/emulator",
};
/** Old top-level entries of src/ → their new place; anything not listed goes to the CLI package. */
const SRC_MOVES = {
  domain: "packages/client/src/domain",
  codec: "packages/client/src/codec",
  state: "packages/client/src/state",
  client: "packages/client/src/client",
  export: "packages/client/src/export",
  // Files at src/'s top by name without extension (so `errors.js` specifiers map like `errors.ts`).
  errors: "packages/client/src/errors",
  index: "packages/client/src/index",
  emulator: "packages/emulator/src",
};
/**
 * Single files that leave their folder's package (path without extension). The emulator's
 * command definition is CLI code (commander, the CLI's duration flags): in the emulator package
 * it would make the emulator import the CLI.
 */
const FILE_MOVES = {
  "src/emulator/command": "packages/cli/src/cli/emulatorCommand",
};
/** Other old roots. */
const ROOT_MOVES = { generated: "packages/client/generated", proto: "packages/client/proto" };
/** Literal edits the general rules cannot infer: [file, from, to]; every occurrence is replaced. */
const FIXUPS = [
  // The CLI's package.json is the one with the bin and the version the CLI prints.
  ["test/cli/bin.test.ts", 'readFileSync("package.json"', 'readFileSync("packages/cli/package.json"'],
  [
    "test/cli/bin.test.ts",
    'join(process.cwd(), bin["clarifai-audit"]',
    'join(process.cwd(), "packages/cli", bin["clarifai-audit"]',
  ],
  // A clone's layout for the README's examples: node_modules links the workspace packages.
  [
    "test/readme.test.ts",
    '["dist", "test", "node_modules", "package.json", "generated", "proto"]',
    '["packages", "test", "node_modules", "package.json"]',
  ],
];

const EXT = /\.(ts|mts|js|mjs|cjs|json)$/;

/** Where an old-layout path (file or folder, any extension) lives after the split; undefined if it does not move. */
function newPathOf(oldPath) {
  const p = posix.normalize(oldPath);
  const stem = p.replace(EXT, "");
  for (const [from, to] of Object.entries(FILE_MOVES)) {
    if (stem === from) return to + p.slice(stem.length);
  }
  const [top, ...rest] = p.split("/");
  if (top in ROOT_MOVES) return [ROOT_MOVES[top], ...rest].join("/");
  if (top !== "src" || rest.length === 0) return undefined;
  const [first, ...tail] = rest;
  if (tail.length === 0) {
    const name = first.replace(EXT, "");
    return `${SRC_MOVES[name] ?? `packages/cli/src/${name}`}${first.slice(name.length)}`;
  }
  return [SRC_MOVES[first] ?? `packages/cli/src/${first}`, ...tail].join("/");
}

/** The package a new-layout path belongs to, if any. */
function packageOf(path) {
  return PACKAGES.find((p) => path.startsWith(`${p.dir}/`));
}

/** Whether an old-layout specifier target names a file of the old tree (a .js specifier may name a .ts file). */
function existsInOldTree(target, oldFiles) {
  if (oldFiles.has(target)) return true;
  if (/\.js$/.test(target)) return oldFiles.has(target.replace(/\.js$/, ".ts"));
  if (/\.mjs$/.test(target)) return oldFiles.has(target.replace(/\.mjs$/, ".mts"));
  return false;
}

function existsNow(target) {
  const candidates = [target];
  if (/\.js$/.test(target)) candidates.push(target.replace(/\.js$/, ".ts"));
  return candidates.some((c) => existsSync(c) && statSync(c).isFile());
}

function relSpecifier(fromFile, target) {
  const r = posix.relative(posix.dirname(fromFile), target);
  return r.startsWith(".") ? r : `./${r}`;
}

/** The bare specifier another package uses for `target` (a path inside `pkg`). */
function bareSpecifier(pkg, target) {
  const stem = target.replace(EXT, "");
  if (ENTRIES[stem]) return ENTRIES[stem];
  const inGenerated = `${pkg.dir}/generated/`;
  if (target.startsWith(inGenerated))
    return `${pkg.name}/internal/generated/${target.slice(inGenerated.length)}`;
  return `${pkg.name}/internal/${target.slice(`${pkg.dir}/src/`.length)}`;
}

const forbidden = [];

/** The specifier `file` (new path) uses for `target` (new path). */
function specifierFor(file, target) {
  const from = packageOf(file);
  const to = packageOf(target);
  if (!to) return relSpecifier(file, target);
  if (from === to) return relSpecifier(file, target);
  // Tests reach into sources relatively (ts-jest runs them, no build); benchmarks load the build.
  if (!from && !file.startsWith("bench/")) return relSpecifier(file, target);
  if (from && PACKAGES.indexOf(to) >= PACKAGES.indexOf(from)) forbidden.push(`${file} → ${target}`);
  return bareSpecifier(to, target);
}

/** Rewrites the relative paths in `text` of the file at `newFile` (which lived at `oldFile`). */
function rewriteSpecifiers(text, oldFile, newFile, oldFiles) {
  let count = 0;
  const out = text.replace(/"(\.{1,2}\/[^"\n]*)"/g, (whole, spec) => {
    const oldTarget = posix.normalize(posix.join(posix.dirname(oldFile), spec));
    let newTarget;
    if (existsInOldTree(oldTarget, oldFiles)) {
      // A target that stays put keeps its specifier: a moved file keeps its place relative to its
      // package root, and what it names outside the old roots is resolved from there at run time.
      newTarget = newPathOf(oldTarget);
    } else if (!existsNow(oldTarget)) {
      // Points into the old layout of an already split tree (a test merged after the split).
      const moved = newPathOf(oldTarget);
      if (moved && existsNow(moved)) newTarget = moved;
    }
    if (newTarget === undefined) return whole;
    const spec2 = specifierFor(newFile, newTarget);
    if (spec2 === spec) return whole;
    count++;
    return `"${spec2}"`;
  });
  return { text: out, count };
}

/** test/, bench/, scripts/ and Markdown: paths of the build output move with their package. */
function rewriteDistPaths(text) {
  let count = 0;
  let out = text.replace(/(^|["'`/(\s])dist\/src\/([\w./-]+)/g, (whole, lead, rest, offset, all) => {
    if (/packages\/[\w-]+\/$/.test(all.slice(Math.max(0, offset - 30), offset + lead.length))) return whole;
    const moved = newPathOf(`src/${rest}`);
    const pkg = moved && packageOf(moved);
    if (!pkg) return whole;
    count++;
    return `${lead}${pkg.dir}/dist/src/${moved.slice(`${pkg.dir}/src/`.length)}`;
  });
  out = out.replace(/(,\s*|\(\s*)"dist",\s*"src",\s*"([\w.-]+)"/g, (whole, lead, top, offset, all) => {
    // Already the package's ("packages", "cli", "dist", …; biome may have put each on its own line).
    if (/"packages",\s*"[\w-]+",?\s*$/.test(all.slice(Math.max(0, offset - 80), offset + lead.length)))
      return whole;
    const moved = newPathOf(`src/${top}`);
    const pkg = moved && packageOf(moved);
    if (!pkg) return whole;
    count++;
    const parts = moved.slice(`${pkg.dir}/src/`.length).split("/").filter(Boolean);
    return `${lead}${[...pkg.dir.split("/"), "dist", "src", ...parts].map((s) => `"${s}"`).join(", ")}`;
  });
  return { text: out, count };
}

/**
 * Mentions of source files in prose (comments, test titles, Markdown): `src/codec/restJson.ts` becomes
 * `packages/client/src/codec/restJson.ts` when that file moved there.
 */
function rewriteMentions(text, oldFiles) {
  let count = 0;
  const out = text.replace(/(?<![\w/.@-])src\/[\w.-]+(?:\/[\w.-]+)*\.(?:ts|js)\b/g, (mention) => {
    const moved = newPathOf(mention);
    if (!moved || !(existsInOldTree(mention, oldFiles) || existsNow(moved))) return mention;
    count++;
    return moved;
  });
  return { text: out, count };
}

function git(...a) {
  return execFileSync("git", a, { encoding: "utf8" });
}

function trackedUnder(...dirs) {
  return git("ls-files", "-z", "--", ...dirs)
    .split("\0")
    .filter(Boolean);
}

// 1. Plan the moves from the tracked files in the old layout.
const oldFiles = new Set(trackedUnder("."));
const moves = { forward: new Map(), inverse: new Map() };
for (const f of trackedUnder("src", ...Object.keys(ROOT_MOVES))) {
  const to = newPathOf(f);
  if (!to || to === f) continue;
  if (existsSync(to)) {
    console.error(`split-workspaces: ${f} would move onto ${to}, which exists; resolve by hand and re-run`);
    process.exit(1);
  }
  moves.forward.set(f, to);
  moves.inverse.set(to, f);
}
const untracked = git(
  "ls-files",
  "-z",
  "--others",
  "--exclude-standard",
  "--",
  "src",
  ...Object.keys(ROOT_MOVES),
)
  .split("\0")
  .filter(Boolean);
if (untracked.length > 0) {
  console.error(
    `split-workspaces: untracked files in the old layout (add or remove them first):\n  ${untracked.join("\n  ")}`,
  );
  process.exit(1);
}

// 2. Compute every file's new text before moving anything (specifiers resolve in the old tree).
const SCAN_ROOTS = ["packages", "test", "bench", "scripts"];
const SELF = "scripts/split-workspaces.mjs";
const scanned = [
  ...[...moves.forward.keys()].filter((f) => /\.(ts|mts|mjs|js|cjs)$/.test(f) && !f.startsWith("generated/")),
  ...trackedUnder(...SCAN_ROOTS.filter((d) => existsSync(d))).filter(
    (f) => /\.(ts|mts|mjs|js|cjs)$/.test(f) && f !== SELF && !moves.forward.has(f),
  ),
  // Prose: the READMEs and docs name source files and the CLI's built path.
  ...trackedUnder(".").filter((f) => f.endsWith(".md") && !moves.forward.has(f)),
];
const newTexts = new Map();
let specifiers = 0;
let distPaths = 0;
let mentions = 0;
for (const oldFile of scanned) {
  const newFile = moves.forward.get(oldFile) ?? oldFile;
  const before = readFileSync(oldFile, "utf8");
  const spec = rewriteSpecifiers(before, oldFile, newFile, oldFiles);
  specifiers += spec.count;
  let text = spec.text;
  if (/^(test|bench|scripts)\//.test(newFile) || newFile.endsWith(".md")) {
    const dist = rewriteDistPaths(text);
    distPaths += dist.count;
    text = dist.text;
  }
  const mentioned = rewriteMentions(text, oldFiles);
  mentions += mentioned.count;
  text = mentioned.text;
  if (text !== before || moves.forward.has(oldFile))
    newTexts.set(newFile, { text, changed: text !== before });
}
const fixupReport = [];
for (const [file, from, to] of FIXUPS) {
  const path = moves.forward.get(file) ?? file;
  if (!existsSync(file) && !newTexts.has(path)) {
    fixupReport.push(`missing file: ${file}`);
    continue;
  }
  const current = newTexts.get(path)?.text ?? readFileSync(file, "utf8");
  if (current.includes(from)) {
    newTexts.set(path, { text: current.replaceAll(from, to), changed: true });
    fixupReport.push(`applied: ${file}: ${from}`);
  } else if (current.includes(to)) {
    fixupReport.push(`already applied: ${file}: ${from}`);
  } else {
    fixupReport.push(`NOT FOUND (edit by hand): ${file}: ${from}`);
  }
}

const changed = [...newTexts].filter(([, v]) => v.changed).map(([f]) => f);
console.log(
  `split-workspaces: ${moves.forward.size} files to move; to rewrite: ${specifiers} relative paths, ${distPaths} build paths, ${mentions} mentions of source files, in ${changed.length} files`,
);
for (const line of fixupReport) console.log(`  fixup ${line}`);

if (DRY) {
  for (const [from, to] of moves.forward) console.log(`  mv ${from} → ${to}`);
  for (const f of changed) console.log(`  rewrite ${f}`);
} else {
  // 3. Move (git mv keeps the history), then write the rewritten texts at the new paths.
  for (const [from, to] of moves.forward) {
    execFileSync("mkdir", ["-p", dirname(to)]);
    git("mv", from, to);
  }
  for (const [file, { text, changed: c }] of newTexts) if (c) writeFileSync(file, text);
  if (FORMAT && changed.length > 0) {
    const biome = join(ROOT, "node_modules", ".bin", "biome");
    const formattable = changed.filter((f) => /\.(ts|mts|mjs|js|cjs)$/.test(f));
    try {
      execFileSync(biome, ["check", "--write", "--linter-enabled=false", "--colors=off", ...formattable], {
        stdio: ["ignore", "inherit", "inherit"],
      });
    } catch {
      console.error("split-workspaces: biome left findings in the rewritten files (see above)");
    }
  }
  if (changed.length > 0) git("add", "--", ...changed);
}

if (forbidden.length > 0) {
  console.error(
    `split-workspaces: imports the package graph forbids (client ← emulator ← cli; remove them in the source):\n  ${forbidden.join("\n  ")}`,
  );
  process.exit(1);
}
console.log(`split-workspaces: done${DRY ? " (dry run: nothing written)" : ""}`);
