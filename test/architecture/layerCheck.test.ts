/**
 * The layer checker on a synthetic tree: it must find every kind of import the real test relies on,
 * name the file, line and edge, and stay silent on allowed edges and on specifiers in comments.
 */
import { flagWordsIn, importsOf, type LayerTable, packageOf, violations } from "./layerCheck.js";

const TABLE: LayerTable = {
  generated: { layers: [], packages: [] },
  domain: { layers: ["generated"], packages: [] },
  codec: { layers: ["domain"], packages: ["@bufbuild/protobuf"] },
  cli: { layers: ["domain", "codec"], packages: "any" },
};
const TOP = { "client/errors.ts": "domain" };

test("importsOf finds static, re-export, side-effect, dynamic and type imports with their lines", () => {
  const text = [
    'import { a } from "./a.js";',
    "// import { no } from './comment.js';",
    "import {",
    "  b,",
    '} from "./b.js";',
    'export { c } from "./c.js";',
    'export * from "./d.js";',
    'import "./e.js";',
    'const f = await import("./f.js");',
    'type G = import("./g.js").G;',
    "const s = \"import x from './string.js'\";",
  ].join("\n");
  expect(importsOf("x.ts", text)).toEqual([
    { specifier: "./a.js", line: 1 },
    { specifier: "./b.js", line: 3 },
    { specifier: "./c.js", line: 6 },
    { specifier: "./d.js", line: 7 },
    { specifier: "./e.js", line: 8 },
    { specifier: "./f.js", line: 9 },
    { specifier: "./g.js", line: 10 },
  ]);
});

test("packageOf keeps the scope and drops subpaths", () => {
  expect(packageOf("@bufbuild/protobuf/wire")).toBe("@bufbuild/protobuf");
  expect(packageOf("csv-stringify/sync")).toBe("csv-stringify");
  expect(packageOf("pg")).toBe("pg");
});

test("violations names file, line and edge for each kind of bad import, and passes the allowed ones", () => {
  const files = new Map([
    [
      "packages/client/src/domain/key.ts",
      [
        'import type { T } from "../../generated/proto/x.js";',
        'import { y } from "./other.js";',
        'import { entryToJsonLine } from "../codec/index.js";',
        'export { z } from "clarifai-audit/internal/cli/z.js";',
      ].join("\n"),
    ],
    [
      "packages/client/src/codec/a.ts",
      'import { w } from "@bufbuild/protobuf/wire";\nconst g = await import("@grpc/grpc-js");',
    ],
    ["packages/client/src/codec/b.ts", 'import { e } from "../errors.js";\nimport { readFile } from "fs";'],
    [
      "packages/cli/src/cli/main.ts",
      'import { c } from "commander";\nimport { k } from "@clarifai-audit/client/internal/domain/key.js";',
    ],
    ["packages/client/src/errors.ts", 'import { c } from "./codec/a.js";'],
    ["packages/emulator/src/x.ts", ""],
    ["packages/client/src/codec/c.ts", 'import { s } from "../../../../scripts/s.js";'],
    ["packages/client/src/codec/d.ts", 'import { s } from "@clarifai-audit/client/lib/s.js";'],
  ]);
  expect(violations(files, TABLE, TOP)).toEqual([
    'packages/client/src/domain/key.ts:3: domain → codec ("../codec/index.js")',
    'packages/client/src/domain/key.ts:4: domain → cli ("clarifai-audit/internal/cli/z.js")',
    'packages/client/src/codec/a.ts:2: codec → package @grpc/grpc-js ("@grpc/grpc-js")',
    'packages/client/src/codec/b.ts:2: codec → package fs ("fs")',
    'packages/client/src/errors.ts:1: domain → codec ("./codec/a.js")',
    "packages/emulator/src/x.ts: no layer in the table for this file (layer emulator)",
    'packages/client/src/codec/c.ts:1: codec → scripts/s.js (outside the layers) ("../../../../scripts/s.js")',
    'packages/client/src/codec/d.ts:1: codec → packages/client/lib/s.js (not an export of @clarifai-audit/client) (outside the layers) ("@clarifai-audit/client/lib/s.js")',
  ]);
});

test("a file directly under src/ with no layer given is a violation, not a pass", () => {
  expect(violations(new Map([["packages/client/src/index.ts", ""]]), TABLE, TOP)).toEqual([
    "packages/client/src/index.ts: no layer in the table for this file (layer none)",
  ]);
});

test("flagWordsIn finds flags in strings and template texts, and not in comments or computed names", () => {
  // The source text holds template literals: "$" is put in apart, so that this file's strings hold no `${`.
  const $ = "$";
  const text = [
    "/** Run `tail --since 1h` (a comment may show a command line). */",
    'const a = "--lake: no such lake";',
    `const b = \`${$}{x} is not a lake; pass --force\`;`,
    `const c = \`${$}{x}: row ${$}{n}: see --input\`;`,
    "// throw new Error('--to: x');",
    `const d = \`--${$}{name}\`;`,
    'const e = "a -- b, x--y";',
    `const f = \`lake: ${$}{dir}\`;`,
  ].join("\n");
  expect(flagWordsIn("x.ts", text)).toEqual([
    { line: 2, text: "--lake: no such lake" },
    { line: 3, text: " is not a lake; pass --force" },
    { line: 4, text: ": see --input" },
  ]);
});
