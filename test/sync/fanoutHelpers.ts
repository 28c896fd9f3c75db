/**
 * What the fan-out tests (fanout.test.ts, fanoutCrash.test.ts) share: a real store wrapped so that a
 * test can make its commits fail or wait (the fault a destination going down, or slowing to a crawl,
 * shows the walk), and the check that every member's lake holds the same entries, each once, with
 * totals that count them and no run left.
 */
import { expect } from "@jest/globals";
import type { SyncCommit, SyncIdentity, SyncState, SyncStore } from "../../packages/cli/src/sync/store.js";
import { lakeHeld } from "./syncHelpers.js";

/** Thrown by a {@link ControlledStore} told to fail. */
export class InjectedStoreError extends Error {
  override name = "InjectedStoreError";
}

/**
 * A real store (a lake, PostgreSQL) whose commits a test controls: `failAfter(n)` lets n more commits
 * through, then fails every one (before it reaches the store) until `recover()`; `hold()` makes
 * every commit wait (before it reaches the store) until `let()`; `delayMs` slows every commit by
 * that much (a healthy destination slower than the others).
 */
export class ControlledStore implements SyncStore {
  /** Commits that reached the real store. */
  committed = 0;
  #passes: number | undefined;
  #gate: { promise: Promise<void>; open: () => void } | undefined;
  /** Added to every commit before it reaches the store. */
  delayMs = 0;

  constructor(readonly inner: SyncStore) {}

  get description(): string {
    return this.inner.description;
  }
  get commitEntries(): number | undefined {
    return this.inner.commitEntries;
  }
  get commitsInFlight(): number | undefined {
    return this.inner.commitsInFlight;
  }

  failAfter(passes: number): void {
    this.#passes = passes;
  }
  recover(): void {
    this.#passes = undefined;
  }
  hold(): void {
    let open = () => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#gate = { promise, open };
  }
  let(): void {
    this.#gate?.open();
    this.#gate = undefined;
  }

  open(identity: SyncIdentity): Promise<SyncState | undefined> {
    return this.inner.open(identity);
  }
  async prepare(from: string): Promise<void> {
    await this.inner.prepare?.(from);
  }
  async commit(commit: SyncCommit): Promise<{ inserted: number; late?: number }> {
    await this.#gate?.promise;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.#passes !== undefined) {
      if (this.#passes === 0) throw new InjectedStoreError(`${this.description}: no space left (injected)`);
      this.#passes--;
    }
    const result = await this.inner.commit(commit);
    this.committed++;
    return result;
  }
  count(): Promise<number> {
    return this.inner.count?.() ?? Promise.resolve(0);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The lake holds each of its entries once, its totals count them; returns its entries (sorted). */
export async function lakeConsistent(dir: string): Promise<{ entries: string[]; running: boolean }> {
  const held = await lakeHeld(dir);
  expect(new Set(held.entries).size).toBe(held.entries.length);
  expect(held.totals).toBe(held.entries.length);
  return { entries: held.entries.sort(), running: held.running };
}

/** Every lake holds the same `size` entries, each once, totals agreeing, no run left; returns them. */
export async function expectLakesHold(dirs: string[], size: number): Promise<string[]> {
  const all = await Promise.all(dirs.map(lakeConsistent));
  const first = all[0]?.entries ?? [];
  const outcome = all.map((h, i) => ({ dir: dirs[i], size: h.entries.length, running: h.running }));
  expect(outcome).toEqual(dirs.map((dir) => ({ dir, size, running: false })));
  for (const h of all.slice(1)) expect(h.entries).toEqual(first);
  return first;
}
