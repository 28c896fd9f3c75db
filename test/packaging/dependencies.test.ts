/**
 * Each package declares exactly what its sources import: a missing dependency breaks the package
 * when installed from its tarball (a workspace hoists everything, so nothing else notices), and a
 * stale one makes every install heavier (the client's ≤ 15 MB bound, tarballs.test.ts).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";

const PACKAGES = join(process.cwd(), "packages");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

/** The packages the TypeScript files under `dirs` import (static, dynamic and `import()` types). */
function importedPackages(dirs: string[]): string[] {
  const names = new Set<string>();
  for (const file of dirs.flatMap(files)) {
    const text = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gms),
      ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ].map((m) => m[1] as string);
    for (const s of specifiers) {
      if (s.startsWith(".") || s.startsWith("node:") || builtinModules.includes(s)) continue;
      names.add(s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : (s.split("/")[0] as string));
    }
  }
  return [...names].sort();
}

it.each(["client", "emulator", "cli"])(
  "packages/%s declares exactly the packages its sources import",
  (pkg) => {
    const dir = join(PACKAGES, pkg);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    const sources = [join(dir, "src"), ...(pkg === "client" ? [join(dir, "generated")] : [])];
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(importedPackages(sources));
  },
);

it("pins every dependency to one version, the sibling packages to the workspace's", () => {
  const versions = new Map<string, string>();
  for (const pkg of ["client", "emulator", "cli"]) {
    const m = JSON.parse(readFileSync(join(PACKAGES, pkg, "package.json"), "utf8")) as {
      name: string;
      version: string;
      dependencies?: Record<string, string>;
    };
    versions.set(m.name, m.version);
    for (const [name, range] of Object.entries(m.dependencies ?? {})) {
      expect({ pkg, name, range, exact: /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(range) }).toEqual({
        pkg,
        name,
        range,
        exact: true,
      });
      if (versions.has(name)) expect({ name, range }).toEqual({ name, range: versions.get(name) });
    }
  }
});
