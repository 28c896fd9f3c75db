/**
 * The chain's tree on the second core: a {@link LeafTree} whose leaves go to a worker thread that
 * runs a {@link ChainTree}, so that the main thread only reads the file, hashes its ranges and
 * splits and hashes its leaves while the worker builds the commits' roots and the chain's tree (two
 * of the three hashes per entry). Messages keep their order, so the worker checks each digest at the
 * same point of the leaves as the main thread would; its first problem comes back at the next
 * {@link WorkerTree.settle}. The worker is this module, started from its own URL (the CLI's bundle
 * chunk or the compiled file); from the TypeScript sources (tests) it cannot start, and the caller
 * keeps the tree in its own thread.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { HASH_BYTES } from "@clarifai-audit/client/internal/digest/merkle.js";
import { NotVerified } from "./problem.js";
import { ChainTree, type LeafTree, type TreeDigest } from "./tree.js";
import type { VerifyProblem } from "./types.js";

const MARK = "clarifai-audit verify: chain tree";

type ToWorker = { add: Uint8Array; count: number } | { close: number } | { settle: number };
type FromWorker = { settled: number } | { problem: VerifyProblem } | { error: string };

/** What the worker needs of each digest (plain data: structured-cloned). */
function treeDigest(d: TreeDigest): TreeDigest {
  const { entries, root, tree } = d.doc.digest;
  return { name: d.name, shown: d.shown, doc: { digest: { entries, root, tree } } };
}

/** See the module comment. */
export class WorkerTree implements LeafTree {
  readonly #worker: Worker;
  readonly #index = new Map<TreeDigest, number>();
  readonly #waiting = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  #size = 0;
  #next = 0;
  #failure: unknown;

  private constructor(worker: Worker, digests: readonly TreeDigest[]) {
    this.#worker = worker;
    for (const [i, d] of digests.entries()) this.#index.set(d, i);
    worker.on("message", (m: FromWorker) => {
      if ("settled" in m) {
        this.#waiting.get(m.settled)?.resolve();
        this.#waiting.delete(m.settled);
      } else this.#fail("problem" in m ? new NotVerified(m.problem) : new Error(m.error));
    });
    worker.on("error", (e) => this.#fail(e));
    worker.on("exit", (code) => this.#fail(new Error(`the verifier's tree thread exited (${code})`)));
  }

  /** A tree in a worker thread for `digests`, or undefined where this module cannot run as one. */
  static start(digests: readonly TreeDigest[]): WorkerTree | undefined {
    const url = import.meta.url;
    if (!/\.m?js$/.test(url)) return undefined;
    const worker = new Worker(new URL(url), {
      workerData: { mark: MARK, digests: digests.map(treeDigest) },
    });
    return new WorkerTree(worker, digests);
  }

  get size(): number {
    return this.#size;
  }

  add(hashes: Uint8Array, count = hashes.length / HASH_BYTES): void {
    if (count === 0) return;
    // A copy the worker owns (the caller's buffer is reused).
    const copy = new Uint8Array(count * HASH_BYTES);
    copy.set(hashes.subarray(0, count * HASH_BYTES));
    this.#size += count;
    this.#post({ add: copy, count }, [copy.buffer]);
  }

  close(d: TreeDigest): void {
    const index = this.#index.get(d);
    if (index === undefined) throw new Error(`digest ${d.name} is not one the tree thread was given`);
    this.#post({ close: index });
  }

  settle(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#post({ settle: id });
    });
  }

  /** Ends the thread. */
  async stop(): Promise<void> {
    this.#failure ??= new Error("the verifier's tree thread was stopped");
    await this.#worker.terminate();
  }

  #post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.#failure === undefined) this.#worker.postMessage(m, transfer);
  }

  #fail(e: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = e;
    for (const w of this.#waiting.values()) w.reject(e);
    this.#waiting.clear();
  }
}

/** The worker's side: a {@link ChainTree} fed by the messages, its first problem sent back. */
function serve(digests: readonly TreeDigest[]): void {
  const port = parentPort;
  if (port === null) return;
  const tree = new ChainTree(false);
  let failed = false;
  port.on("message", (m: ToWorker) => {
    if (failed) return;
    try {
      if ("add" in m) tree.add(m.add, m.count);
      else if ("close" in m) tree.close(digests[m.close] as TreeDigest);
      else port.postMessage({ settled: m.settle } satisfies FromWorker);
    } catch (error) {
      failed = true;
      port.postMessage(
        (error instanceof NotVerified
          ? { problem: error.problem }
          : {
              error: error instanceof Error ? (error.stack ?? error.message) : String(error),
            }) satisfies FromWorker,
      );
    }
  });
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === MARK)
  serve((workerData as { digests: TreeDigest[] }).digests);
