/**
 * The checker behind layers.test.ts, apart from the table so that it can be tested on a synthetic
 * tree: every import of a module (static `import … from`, `export … from`, side-effect `import "…"`,
 * dynamic `import("…")` and `import("…")` types) with its line, each file's layer, and the edges the
 * table does not allow. Imports are read from the TypeScript syntax tree, so a specifier quoted in a
 * comment or a string is no edge, and one split over lines is still one.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
import ts from "typescript";

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** The TypeScript modules under `roots` (repository-relative, `/`-separated) → their text. */
export function sourceFiles(...roots: string[]): Map<string, string> {
  const files = roots
    .flatMap(walk)
    .filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"))
    .map((p) => relative(".", p).split("\\").join("/"));
  return new Map(files.map((p) => [p, readFileSync(p, "utf8")]));
}

/** One import of a module: the specifier as written and the 1-based line it is on. */
export interface ImportSite {
  specifier: string;
  line: number;
}

/** What a layer may import: the layers beside itself, and the npm packages. */
export interface LayerRule {
  layers: readonly string[];
  /** Package names (`@scope/name` or `name`); `node:` builtins are allowed everywhere. */
  packages: readonly string[] | "any";
}

/** The layer table: layer name → rule. */
export type LayerTable = Readonly<Record<string, LayerRule>>;

/** Every module specifier `text` imports or re-exports, with its line. */
export function importsOf(fileName: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sites: ImportSite[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined) => {
    if (literal === undefined || !ts.isStringLiteralLike(literal)) return;
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    sites.push({ specifier: literal.text, line: line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** Where each workspace package's sources are, by package name (`internal/*` subpaths included). */
const WORKSPACE: readonly { name: string; dir: string; entries: Readonly<Record<string, string>> }[] = [
  {
    name: "@clarifai-audit/client",
    dir: "packages/client",
    entries: { "": "src/index.ts", "/export": "src/export/index.ts" },
  },
  { name: "@clarifai-audit/emulator", dir: "packages/emulator", entries: { "": "src/index.ts" } },
  {
    name: "clarifai-audit",
    dir: "packages/cli",
    entries: { "": "src/index.ts", "/export": "src/export.ts", "/emulator": "src/emulator.ts" },
  },
];

/**
 * The repository-relative source file a specifier naming one of our own packages resolves to (its
 * entry points, `…/internal/generated/X.js` and `…/internal/X.js`), or undefined for any other
 * specifier: an edge across packages is checked like a relative one.
 */
export function workspaceTarget(specifier: string): string | undefined {
  for (const pkg of WORKSPACE) {
    if (specifier !== pkg.name && !specifier.startsWith(`${pkg.name}/`)) continue;
    const sub = specifier.slice(pkg.name.length);
    const entry = pkg.entries[sub];
    if (entry !== undefined) return `${pkg.dir}/${entry}`;
    const generated = /^\/internal\/generated\/(.+)\.js$/.exec(sub);
    if (generated) return `${pkg.dir}/generated/${generated[1]}.ts`;
    const internal = /^\/internal\/(.+)\.js$/.exec(sub);
    if (internal) return `${pkg.dir}/src/${internal[1]}.ts`;
    return `${pkg.dir}/${sub.slice(1)} (not an export of ${pkg.name})`;
  }
  return undefined;
}

/**
 * The layer of a repository-relative path: `packages/<pkg>/src/<folder>/…` → folder, except the
 * emulator's package, whose src/ is all one layer; a file directly under a package's src/ is named
 * by `topLevelFiles` as `<pkg>/<file>`; `packages/client/generated/…` (the protobuf schema) →
 * "generated". Undefined for anything else.
 */
export function layerOf(path: string, topLevelFiles: Readonly<Record<string, string>>): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "packages" || parts.length < 4) return undefined;
  const pkg = parts[1] as string;
  if (parts[2] === "generated") return "generated";
  if (parts[2] !== "src") return undefined;
  if (pkg === "emulator") return "emulator";
  if (parts.length === 4) return topLevelFiles[`${pkg}/${parts[3]}`];
  return parts[3];
}

/** The npm package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

/**
 * Every import in `files` (repository-relative path → text) the table does not allow, as
 * `FILE:LINE: FROM → TO ("specifier")`. A file with no layer, a layer missing from the table, and
 * an import leaving the packages' src/ and generated/ are violations too: nothing goes unchecked.
 */
export function violations(
  files: ReadonlyMap<string, string>,
  table: LayerTable,
  topLevelFiles: Readonly<Record<string, string>>,
): string[] {
  const out: string[] = [];
  for (const [path, text] of files) {
    const from = layerOf(path, topLevelFiles);
    const rule = from === undefined ? undefined : table[from];
    if (from === undefined || rule === undefined) {
      out.push(`${path}: no layer in the table for this file (layer ${from ?? "none"})`);
      continue;
    }
    for (const { specifier, line } of importsOf(path, text)) {
      const at = `${path}:${line}: ${from} → `;
      const ours = workspaceTarget(specifier);
      if (specifier.startsWith(".") || ours !== undefined) {
        const target =
          ours ??
          relative(resolve("/"), resolve("/", dirname(path), specifier))
            .split("\\")
            .join("/");
        // NodeNext specifiers name the emitted .js file of a .ts module.
        const to = layerOf(posix.normalize(target).replace(/\.js$/, ".ts"), topLevelFiles);
        if (to === undefined) out.push(`${at}${target} (outside the layers) ("${specifier}")`);
        else if (to !== from && !rule.layers.includes(to)) out.push(`${at}${to} ("${specifier}")`);
      } else if (!specifier.startsWith("node:")) {
        const pkg = packageOf(specifier);
        if (rule.packages !== "any" && !rule.packages.includes(pkg)) {
          out.push(`${at}package ${pkg} ("${specifier}")`);
        }
      }
    }
  }
  return out;
}

/** A string in code (not a comment) that holds a command-line flag. */
export interface FlagWord {
  line: number;
  text: string;
}

/**
 * Every string literal and template text of `text` (comments are not looked at: TSDoc may show a
 * command line) that holds `--` followed by a letter, as a flag does.
 */
export function flagWordsIn(fileName: string, text: string): FlagWord[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FlagWord[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      if (/(?:^|[^\w-])--[a-z]/i.test(node.text)) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
        found.push({ line: line + 1, text: node.text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}
