/**
 * The layout rules of the packages' sources, packages/PKG/src (issue 10): no import cycles, no source
 * file over 450 lines, no folder named for a quality. The import graph is built from the import and
 * export specifiers of every module (type-only imports included: a cycle through types still ties
 * two modules together), the packages' names resolved to their sources as tsconfig.json's paths do.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve("packages");
const GENERATED = join(SRC, "client", "generated");
/** A package's name → its sources, for the specifiers that cross packages. */
const PACKAGE_SOURCES: [RegExp, string][] = [
  [/^@clarifai-audit\/client$/, "client/src/index.js"],
  [/^@clarifai-audit\/client\/export$/, "client/src/export/index.js"],
  [/^@clarifai-audit\/client\/internal\/generated\//, "client/generated/"],
  [/^@clarifai-audit\/client\/internal\//, "client/src/"],
  [/^@clarifai-audit\/emulator$/, "emulator/src/index.js"],
  [/^@clarifai-audit\/emulator\/internal\//, "emulator/src/"],
  [/^clarifai-audit$/, "cli/src/index.js"],
  [/^clarifai-audit\/internal\//, "cli/src/"],
];
const MAX_LINES = 450;
/** Folder names that say how code is (fast, new, …) rather than what it does. */
const QUALITY_NAMES = new Set([
  "fast",
  "slow",
  "new",
  "old",
  "legacy",
  "optimized",
  "improved",
  "better",
  "simple",
  "misc",
  "tmp",
  "temp",
]);
/** Files over the limit, each waiting for its split: none, and this list only shrinks. */
const OVER_LIMIT_PENDING = new Set<string>();
/** Import edges allowed to close a cycle: none, and this list only shrinks. */
const CYCLE_EDGES_PENDING = new Set<string>();

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? [path, ...walk(path)] : [path];
  });
}

const paths = readdirSync(SRC).flatMap((pkg) => walk(join(SRC, pkg, "src")));
const modules = paths.filter((p) => /\.(ts|mts)$/.test(p) && !p.endsWith(".d.ts"));
const rel = (p: string): string => relative(SRC, p);

/** The modules `file` imports (static and dynamic specifiers; relative ones and the packages' names). */
function importsOf(file: string): string[] {
  // Comments may show example imports; they are not edges.
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1] as string);
  return (
    specifiers
      .map((s) => {
        if (s.startsWith(".")) return resolve(dirname(file), s);
        const named = PACKAGE_SOURCES.find(([name]) => name.test(s));
        return named ? join(SRC, s.replace(named[0], named[1])) : undefined;
      })
      .filter((p): p is string => p !== undefined)
      .map((p) => p.replace(/\.js$/, ".ts"))
      // Generated code is not laid out by hand: its modules are not in the graph.
      .filter((p) => p.startsWith(`${SRC}/`) && !p.startsWith(`${GENERATED}/`))
      .filter((p) => !CYCLE_EDGES_PENDING.has(`${rel(file)} → ${rel(p)}`))
  );
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("the layout of packages/*/src", () => {
  it("finds the modules and their imports (the rules below see the real graph)", () => {
    expect(modules.length).toBeGreaterThan(50);
    expect(importsOf(join(SRC, "client", "src", "index.ts")).map(rel)).toContain(
      "client/src/client/client.ts",
    );
    expect(modules.flatMap(importsOf).filter((t) => rel(t).startsWith("cli/src/")).length).toBeGreaterThan(
      10,
    );
    // Imports by package name are edges too: the CLI's sources reach the client's.
    const acrossPackages = modules.flatMap((m) =>
      rel(m).startsWith("cli/src/") ? importsOf(m).filter((t) => rel(t).startsWith("client/src/")) : [],
    );
    expect(acrossPackages.length).toBeGreaterThan(10);
  });

  it("has no import cycles", () => {
    const graph = new Map(modules.map((m) => [m, importsOf(m)]));
    const unresolved = [...graph].flatMap(([from, tos]) =>
      tos.filter((to) => !graph.has(to)).map((to) => `${rel(from)} → ${rel(to)}`),
    );
    expect(unresolved).toEqual([]);
    expect(findCycle(graph)?.map(rel)).toBeUndefined();
  });

  it("has no source file over 450 lines", () => {
    const long = modules
      .map((m) => ({ file: rel(m), lines: readFileSync(m, "utf8").split("\n").length - 1 }))
      .filter((f) => f.lines > MAX_LINES && !OVER_LIMIT_PENDING.has(f.file));
    expect(long).toEqual([]);
  });

  it("has no folder named for a quality", () => {
    const folders = paths.filter((p) => statSync(p).isDirectory()).map(rel);
    expect(folders.filter((f) => f.split("/").some((part) => QUALITY_NAMES.has(part)))).toEqual([]);
  });
});
