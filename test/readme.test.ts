/**
 * The documentation's runnable blocks, run as written: every ```sh test and ```js test block of
 * README.md and of each page under docs/ (the generated pages, not their sources in docs/src/), in
 * order, one bash session per file (a js block is written to the file its first line names). The
 * emulator's fixed port is replaced by a free one, `clarifai-audit` is the built bin on PATH (as
 * `npm link` would make it), and each `#>` line must appear in what its block printed.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { CLI } from "./cli/helpers.js";

const ROOT = process.cwd();

/**
 * How many blocks the documentation runs: moving a block between files keeps the count, dropping
 * one (or its `test` tag) fails here. Before the docs were split out of README.md there were 4.
 */
const TESTED_BLOCKS = 9;

interface Block {
  lang: "sh" | "js";
  body: string;
}

function testBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  for (const m of markdown.matchAll(/^```(sh|js) test\n([\s\S]*?)^```$/gm)) {
    out.push({ lang: m[1] as "sh" | "js", body: m[2] as string });
  }
  return out;
}

/** README.md and every Markdown page under docs/ but the hand-written sources of docs/src/. */
function documents(): string[] {
  const pages = (readdirSync(join(ROOT, "docs"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".md"))
    .map((f) => relative(ROOT, join(ROOT, "docs", f)))
    .filter((f) => !f.startsWith(join("docs", "src")))
    .sort();
  return ["README.md", ...pages];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const withBlocks = documents()
  .map((file) => ({ file, blocks: testBlocks(readFileSync(join(ROOT, file), "utf8")) }))
  .filter((d) => d.blocks.length > 0);

it("the documentation keeps its runnable blocks", () => {
  const count = withBlocks.reduce((n, d) => n + d.blocks.length, 0);
  expect(count).toBe(TESTED_BLOCKS);
  // The Quick start: start the emulator, the library, the CLI against it.
  expect(withBlocks.find((d) => d.file === "README.md")?.blocks.filter((b) => b.lang === "sh").length).toBe(
    3,
  );
});

it.each(withBlocks.map((d) => [d.file, d.blocks] as const))(
  "runs the blocks of %s as written",
  async (_file, blocks) => {
    const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-readme-"));
    try {
      // The clone's layout, so that relative paths and `import "clarifai-audit"` resolve as in a checkout.
      for (const name of ["packages", "test", "node_modules", "package.json"]) {
        symlinkSync(join(ROOT, name), join(dir, name));
      }
      const shim = join(dir, "clarifai-audit");
      writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
      chmodSync(shim, 0o755);
      const port = String(await freePort());
      // A block that fails part-way must not leave a background emulator holding the output open.
      let script = "set -eu\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n";
      blocks.forEach((b, i) => {
        const body = b.body.replaceAll("50051", port);
        if (b.lang === "js") {
          const name = /^\/\/ (\S+\.mjs)/.exec(body)?.[1];
          expect(name).toBeDefined();
          writeFileSync(join(dir, name as string), body);
        } else {
          script += `echo "@@block ${i}@@"\n${body}\n`;
        }
      });
      const child = spawn("bash", ["-c", script], {
        cwd: dir,
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect({ code, stderr: stderr.match(/error|^\s+at .*:\d+:\d+\)?$/gim) ?? [] }).toEqual({
        code: 0,
        stderr: [],
      });
      const printed = new Map<number, string[]>();
      for (const part of stdout
        .split(/^@@block (\d+)@@\n/m)
        .slice(1)
        .reduce<string[][]>((acc, x, i) => {
          if (i % 2 === 0) acc.push([x]);
          else (acc[acc.length - 1] as string[]).push(x);
          return acc;
        }, [])) {
        printed.set(Number(part[0]), (part[1] ?? "").split("\n"));
      }
      blocks.forEach((b, i) => {
        if (b.lang !== "sh") return;
        const lines = printed.get(i) ?? [];
        expect(lines.filter((l) => l.trim() !== "").length).toBeGreaterThan(0);
        for (const want of b.body.split("\n").filter((l) => l.startsWith("#> "))) {
          const text = want.slice(3).replaceAll("50051", port);
          // The REST port is ephemeral: only its shape is fixed.
          const re = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/50052/g, "\\d+")}$`);
          expect({ block: i, found: lines.some((l) => re.test(l.trim())), want: text }).toEqual({
            block: i,
            found: true,
            want: text,
          });
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
