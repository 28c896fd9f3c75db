/** A signed lake (PLACEHOLDER while it is written). */
import type { LoadedDigest } from "./chain.js";
import type { ChainTree } from "./tree.js";

export async function checkLakeData(
  dir: string,
  digests: readonly LoadedDigest[],
  tree: ChainTree,
  signal?: AbortSignal,
): Promise<{ bytes: number; files: number }> {
  void dir;
  void digests;
  void tree;
  void signal;
  throw new Error("not yet");
}
