/**
 * `rules check` and `rules test` as the built CLI runs them: validation with one-line errors (exit 2),
 * and backtesting over exports written by `export` itself, as JSON Lines, a JSON array and gzipped,
 * which all give the alerts the evaluator raises in-process.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { alertToJson } from "../../packages/cli/src/watch/alert.js";
import { BUILTIN_PACK } from "../../packages/cli/src/watch/builtinPack.js";
import { Evaluator } from "../../packages/cli/src/watch/evaluator.js";
import { parseRules } from "../../packages/cli/src/watch/rules.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { type GeneratedEmulator, runCli, runMain, startGeneratedEmulator } from "./helpers.js";

let g: GeneratedEmulator;
beforeAll(async () => {
  g = await startGeneratedEmulator(3000, 17);
});
afterAll(() => g.close());

it("rules check: the built-in pack and a file are valid; a bad file is one line, exit 2", async () => {
  const good = join(g.tmp.dir, "good.yaml");
  writeFileSync(good, "rules:\n  - id: x\n    severity: low\n    match: { users: [alice] }\n");
  const ok = await runCli(["rules", "check", "builtin", good]);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
  expect(ok.stdout).toBe(
    `builtin: 12 rule(s) OK (7 per entry, 4 threshold, 1 new_value)\n${good}: 1 rule(s) OK (1 per entry, 0 threshold, 0 new_value)\n`,
  );
  const bad = join(g.tmp.dir, "bad.yaml");
  writeFileSync(bad, "rules:\n  - id: x\n    severity: low\n    match: { source_ips: [10.0.0.0/33] }\n");
  const r = await runMain(["rules", "check", bad]);
  expect(r).toMatchObject({ code: 2, stdout: "" });
  expect(r.stderr).toBe(
    `clarifai-audit: error: ${bad}: rule "x" (rules[0]): match.source_ips[0]: the prefix length must be 0-32 for IPv4 (got "10.0.0.0/33")\n`,
  );
});

it("rules test: JSON Lines, a JSON array and gzip give the evaluator's alerts", async () => {
  const expected = (() => {
    const ev = new Evaluator(parseRules("builtin", BUILTIN_PACK));
    return g.sorted.flatMap((e) => {
      const line = entryToJsonLine(e);
      return ev.evaluate({ json: JSON.parse(line), line }).map(alertToJson);
    });
  })();
  expect(expected.length).toBeGreaterThan(50);
  const inputs: string[] = [];
  for (const name of ["all.jsonl", "all.json"]) {
    const out = join(g.tmp.dir, name);
    const exp = await runCli(["export", ...g.conn, "--out", out, "--settle", "0", "--quiet"]);
    expect(exp.code).toBe(0);
    // Gzipped under a name without .gz: the reader goes by the magic bytes.
    const gz = join(g.tmp.dir, `gz-${name}`);
    writeFileSync(gz, gzipSync(readFileSync(out)));
    inputs.push(out, gz);
  }
  for (const out of inputs) {
    const r = await runCli(["rules", "test", "--rules", "builtin", "--input", out]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l)).toEqual(expected);
    expect(r.stderr).toMatch(new RegExp(`^rules test: 3000 entries, ${expected.length} alert\\(s\\) \\(`));
  }
  const missing = await runCli([
    "rules",
    "test",
    "--rules",
    "builtin",
    "--input",
    join(g.tmp.dir, "nope.jsonl"),
  ]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(
    /^clarifai-audit: error: --input: cannot read .*nope\.jsonl \(no such file\)\n$/,
  );
  const broken = join(g.tmp.dir, "broken.jsonl");
  writeFileSync(broken, '{"timestamp":"2025-01-01T00:00:00Z"}\n{oops\n');
  const b = await runMain(["rules", "test", "--rules", "builtin", "--input", broken]);
  expect(b.code).toBe(2);
  expect(b.stderr).toMatch(
    new RegExp(`^clarifai-audit: error: --input: ${broken}: line 2: not JSON \\(.*\\); not an export\n$`),
  );
}, 180_000);

it("rules check: a FIFO or a folder given as a rules file is one line, exit 2 (a FIFO was waited on forever)", async () => {
  const fifo = join(g.tmp.dir, "rules.fifo");
  execFileSync("mkfifo", [fifo]);
  for (const [path, kind] of [
    [fifo, "a FIFO"],
    [g.tmp.dir, "a folder"],
  ] as const) {
    const r = await runMain(["rules", "check", path]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: `clarifai-audit: error: --rules: ${path} is ${kind}, not a regular file; give a rules file or builtin\n`,
    });
  }
});

it("rules check and rules test refuse an id defined twice alike: in one file, across files, a file given twice", async () => {
  const file = (name: string, ids: string[]) => {
    const path = join(g.tmp.dir, name);
    writeFileSync(
      path,
      `rules:\n${ids.map((id) => `  - id: ${id}\n    severity: low\n    match: { users: [alice] }\n`).join("")}`,
    );
    return path;
  };
  const a = file("dup-a.yaml", ["x", "y"]);
  const b = file("dup-b.yaml", ["z", "x"]);
  const within = file("dup-within.yaml", ["x", "x"]);
  const cases: [string[], string][] = [
    [[a, a], `${a}: rule "x": id: already defined in ${a} (the same file, given twice)`],
    [[a, b], `${b}: rule "x": id: already defined in ${a}`],
    [[within], `${within}: rule "x" (rules[1]): id: duplicate of rules[0]`],
    [
      ["builtin", "builtin"],
      /^builtin: rule "[^"]+": id: already defined in builtin \(the same file, given twice\)\n$/.source,
    ],
  ];
  for (const [files, line] of cases) {
    const check = await runMain(["rules", "check", ...files]);
    const test = await runMain([
      "rules",
      "test",
      ...files.flatMap((f) => ["--rules", f]),
      "--input",
      join(g.tmp.dir, "never-read.jsonl"),
    ]);
    for (const r of [check, test]) {
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      if (line.startsWith("^"))
        expect(r.stderr).toMatch(new RegExp(`^clarifai-audit: error: ${line.slice(1)}`));
      else expect(r.stderr).toBe(`clarifai-audit: error: ${line}\n`);
    }
  }
  // Distinct ids across files pass, one line per file.
  const c = file("dup-c.yaml", ["w"]);
  const ok = await runMain(["rules", "check", a, c]);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
  expect(ok.stdout).toBe(
    `${a}: 2 rule(s) OK (2 per entry, 0 threshold, 0 new_value)\n${c}: 1 rule(s) OK (1 per entry, 0 threshold, 0 new_value)\n`,
  );
});
