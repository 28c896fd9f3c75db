/**
 * The verifier's tree in a worker thread (verify/treeWorker.ts) gives the verdicts of the same tree
 * in one thread: whole; a wrong root, entry count or tree, with the same message. Run from a bundle
 * of a child program, as the CLI's bundle starts it (in jest, from sources, it cannot start).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleChild } from "../helpers/bundleChild.js";

interface Result {
  trees: Array<{ here: string; there: string }>;
}

let dir: string;
let result: Result;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verify-thread-"));
  const program = await bundleChild("test/signing/verifyThreadChild.ts", dir);
  result = JSON.parse(execFileSync(process.execPath, [program], { encoding: "utf8" })) as Result;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the verifier's tree in a thread finds what it finds here, with the same message", () => {
  const [whole, root, entries, tree] = result.trees as [
    Result["trees"][0],
    Result["trees"][0],
    Result["trees"][0],
    Result["trees"][0],
  ];
  expect(whole).toEqual({ here: "ok 7500", there: "ok 7500" });
  for (const r of [root, entries, tree]) expect(r.there).toBe(r.here);
  expect(root.here).toMatch(/^digest-invalid: 000000000003\.json: its root 0{64} is not the Merkle root/);
  expect(entries.here).toMatch(/^digest-invalid: 000000000001\.json lists 3001 entries; its files hold 3000/);
  expect(tree.here).toMatch(/^chain-broken: 000000000002\.json: its tree/);
});
