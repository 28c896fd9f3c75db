/**
 * The generated docs are up to date: docs/cli/<command>.md, docs/cli/README.md and README.md's
 * commands table are regenerated in memory from the command definitions (scripts/gen-docs.ts) and
 * compared with the files on disk. A stale page fails with its name and the command that fixes it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildProgram, PAGES_DIR, pagesOnDisk, REGENERATE, renderDocs } from "../scripts/gen-docs.js";

const ROOT = process.cwd();
const pages = renderDocs(ROOT);

function onDisk(path: string): string | undefined {
  try {
    return readFileSync(join(ROOT, path), "utf8");
  } catch {
    return undefined;
  }
}

it.each([...pages.keys()])("%s is what the command definitions generate", (path) => {
  const stale = onDisk(path) !== pages.get(path);
  // A message, not a diff of two pages: which file, and how to bring it up to date.
  expect(stale ? `${path} is stale: run \`${REGENERATE}\` and commit the result` : "up to date").toBe(
    "up to date",
  );
});

it("every page in docs/cli is a command's page", () => {
  const orphans = pagesOnDisk(ROOT).filter((p) => !pages.has(p));
  expect(orphans.map((p) => `${p} is no command's page: remove it, or run \`${REGENERATE}\``)).toEqual([]);
});

it("there is a page for each command, and README.md's table links each", () => {
  const names = buildProgram().commands.map((c) => c.name());
  expect(names.sort()).toEqual(
    [
      "completion",
      "config",
      "emulator",
      "export",
      "query",
      "report",
      "rules",
      "run",
      "search",
      "sync",
      "tail",
      "watch",
      "verify",
      "keys",
    ].sort(),
  );
  const readme = pages.get("README.md") ?? "";
  for (const name of names) {
    expect(pages.has(`${PAGES_DIR}/${name}.md`)).toBe(true);
    expect(readme).toContain(`(${PAGES_DIR}/${name}.md)`);
  }
});

it("a page shows each flag with its default and its choices, and the help text", () => {
  const exportPage = pages.get(`${PAGES_DIR}/export.md`) ?? "";
  expect(exportPage).toContain("| `--settle <duration>` | `1m` |");
  expect(exportPage).toContain("| `--out <file>` | required |");
  expect(exportPage).toMatch(/\| `--memory <mode>` \| `lean` \| .*\(one of `lean`, `fast`\) \|/);
  expect(exportPage).toContain("CLARIFAI_PAT            Personal Access Token");
  // tail reads up to now: its hidden --to/--until are not listed, as in its --help.
  const tailPage = pages.get(`${PAGES_DIR}/tail.md`) ?? "";
  expect(tailPage).toContain("| `--since <duration>` |");
  expect(tailPage).not.toContain("`--until <duration>`");
  // The hand-written part follows the generated one.
  expect(tailPage.indexOf("## State file and late entries")).toBeGreaterThan(tailPage.indexOf("--lookback"));
});

it("README.md stays at most 300 lines", () => {
  expect((pages.get("README.md") ?? "").split("\n").length).toBeLessThanOrEqual(300);
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(line)) out.add(slug(line.replace(/^#+ /, "")));
  }
  return out;
}

it("every relative link of README.md, bench/README.md and docs/ leads to a file and heading that exist", () => {
  const files = [
    "README.md",
    "bench/README.md",
    ...(readdirSync(join(ROOT, "docs"), { recursive: true }) as string[])
      .filter((f) => f.endsWith(".md") && !f.startsWith("src"))
      .map((f) => `docs/${f}`),
  ];
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), "utf8").replace(/^```[\s\S]*?^```$/gm, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue;
      const [path, anchor] = (target as string).split("#") as [string, string | undefined];
      const resolved = path === "" ? file : join(dirname(file), path);
      const content = onDisk(resolved.endsWith("/") ? `${resolved}README.md` : resolved);
      if (content === undefined && !existsSync(join(ROOT, resolved)))
        broken.push(`${file}: ${target} (no file)`);
      else if (anchor !== undefined && content !== undefined && !anchors(content).has(anchor))
        broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  expect(broken).toEqual([]);
});
