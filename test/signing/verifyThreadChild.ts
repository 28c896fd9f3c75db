/**
 * The child of verifyThread.test.ts, bundled (test/helpers/bundleChild.ts) so that the worker thread
 * starts as it does from the CLI's bundle: from the bundle's own file. Prints one JSON line: the
 * verifier's tree in a thread beside its tree in this thread, on correct and on wrong digests.
 */
import { isMainThread } from "node:worker_threads";
import type { LeafFormat } from "@clarifai-audit/client/internal/digest/leaves.js";
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { MerkleFrontier, merkleRoot } from "@clarifai-audit/client/internal/digest/merkle.js";
import { NotVerified } from "../../packages/cli/src/verify/problem.js";
import { ChainTree, type LeafTree, type TreeDigest } from "../../packages/cli/src/verify/tree.js";
import { WorkerTree } from "../../packages/cli/src/verify/treeWorker.js";

/** Lines of varied lengths (a JSON array's elements end with a comma but the last). */
function text(format: LeafFormat, n: number, seed: number): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(`{"id":"e${seed}-${i}","pad":"${"x".repeat((i * 37 + seed) % 900)}"}`);
    if (lines.length === 1 + ((i * 7) % 13)) {
      chunks.push(Buffer.from(format === "json" ? `${lines.join(",\n")},\n` : `${lines.join("\n")}\n`));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(`${lines.join(format === "json" ? ",\n" : "\n")}\n`));
  return chunks;
}

/** Feeds `tree` the commits' leaves and closes, as the verifier does; its first problem's message. */
async function feed(tree: LeafTree, leaves: LeafHashes[], digests: TreeDigest[]): Promise<string> {
  try {
    leaves.forEach((l, i) => {
      const h = l.hashes();
      // In pieces, as the reader finds them.
      for (let at = 0; at < l.count; at += 1000) tree.add(h.subarray(at * 32), Math.min(1000, l.count - at));
      tree.close(digests[i] as TreeDigest);
    });
    await tree.settle();
    return `ok ${tree.size}`;
  } catch (error) {
    if (error instanceof NotVerified) return `${error.problem.kind}: ${error.problem.message}`;
    throw error;
  }
}

async function trees(): Promise<Array<{ here: string; there: string }>> {
  const leaves: LeafHashes[] = [];
  const chain = new MerkleFrontier();
  const digests: TreeDigest[] = [];
  for (const [c, n] of [3000, 0, 4500].entries()) {
    const l = new LeafHashes();
    for (const chunk of text("jsonl", n, c)) l.addText("jsonl", chunk);
    leaves.push(l);
    chain.appendAll(l.hashes(), l.count);
    const name = `00000000000${c + 1}.json`;
    const root = merkleRoot(l.hashes(), l.count).toString("hex");
    const tree = { size: chain.size, root: chain.root().toString("hex"), frontier: chain.nodes() };
    digests.push({ name, shown: name, doc: { digest: { entries: l.count, root, tree } } });
  }
  const wrong = (i: number, change: (d: TreeDigest["doc"]["digest"]) => void): TreeDigest[] =>
    digests.map((d, j) => {
      const copy = structuredClone(d);
      if (i === j) change(copy.doc.digest);
      return copy;
    });
  const cases = [
    digests,
    wrong(2, (d) => {
      d.root = "00".repeat(32);
    }),
    wrong(0, (d) => {
      d.entries += 1;
    }),
    wrong(1, (d) => {
      d.tree = { ...d.tree, root: "11".repeat(32) };
    }),
  ];
  const out: Array<{ here: string; there: string }> = [];
  for (const ds of cases) {
    const worker = WorkerTree.start(ds);
    if (worker === undefined) throw new Error("no tree thread from a bundle");
    const there = await feed(worker, leaves, ds);
    await worker.stop();
    out.push({ here: await feed(new ChainTree(false), leaves, ds), there });
  }
  return out;
}

if (isMainThread) {
  (async () => {
    const result = { trees: await trees() };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  })().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
