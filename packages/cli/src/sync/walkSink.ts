/**
 * The export engine's sink for a walk of the fan-out (fanout.ts): hands every batch to every member
 * still attached (storeSink.ts), each of which queues and commits it on its own, and is the walk's
 * backpressure: the engine's next page waits until every member has room for it, except a member
 * that has had none for `slowWaitMs` (a commit that does not return): the walk goes on without
 * waiting for that one, which its own lag bound then detaches. The walk thus goes at the pace of the
 * slowest member that keeps committing (healthy destinations of different speeds share one walk:
 * one set of requests), never of one that stalls or has failed; once no member is left, it stops.
 */
import { performance } from "node:perf_hooks";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import type { ExportBatch, ExportCursor, ExportSink } from "@clarifai-audit/client/internal/export/sink.js";
import type { MemberSink } from "./storeSink.js";

/** Thrown into the engine when every member has left the walk: it stops walking (not an error of a member). */
class NoMembersLeft extends ClarifaiAuditError {
  override name = "NoMembersLeft";
}

/** One walk's sink, fanning out to its members. */
export class WalkSink implements ExportSink {
  /** Wakes a walk waiting for room (a member's queue shrank or it left). */
  #wake: (() => void) | undefined;
  /** Since when (performance.now()) each member seen without room has had none. */
  readonly #noRoomSince = new Map<MemberSink, number>();

  constructor(
    private readonly members: readonly MemberSink[],
    /** The cursor a resumed walk goes on from (its one member's run). */
    private readonly resume: ExportCursor | undefined,
    /** A member is done with this walk (its commits all ended): its store may be closed. */
    private readonly finished: (member: MemberSink) => Promise<unknown>,
    /**
     * How long the next page waits for a member without room while another has room; past it the
     * walk goes on without it (0: the walk goes at the pace of the fastest member).
     */
    private readonly slowWaitMs = 0,
  ) {}

  /** Whether `error` is the stop of a walk whose members have all left. */
  static isNoMembersLeft(error: unknown): boolean {
    return error instanceof NoMembersLeft;
  }

  async open(): Promise<ExportCursor | undefined> {
    return this.resume;
  }

  async start(cursor: ExportCursor): Promise<void> {
    // The pinned window is each member's first commit: a crash resumes this window, not a new one.
    // The first page waits for it (in one member at least), as it always has in `sync`.
    for (const m of this.members) m.pin(cursor);
    if (!(await this.#until((m) => m.idle))) throw new NoMembersLeft("every member of the walk has left it");
  }

  async write(batch: ExportBatch): Promise<void> {
    for (const m of this.members) m.give(batch.entries, batch.cursor);
    if (!(await this.#untilRoom())) throw new NoMembersLeft("every member of the walk has left it");
  }

  /**
   * The engine's commit interval: every member commits what it was given; the walk waits until one
   * member has (the one it goes at the pace of), not for the slower ones: their lag bound is their limit.
   */
  async flush(): Promise<void> {
    for (const m of this.members) m.flush();
    // Never throws: the engine's end flushes before it closes, and the close must come.
    await this.#until((m) => m.idle);
  }

  async close(outcome: { complete: boolean; error?: unknown }): Promise<void> {
    const complete = outcome.complete && outcome.error === undefined;
    // Each member ends on its own: one waiting for a slow commit does not hold the others' ends.
    await Promise.all(
      this.members.map(async (m) => {
        await m.finish(complete);
        await this.finished(m);
      }),
    );
  }

  /** Called by members when their queue shrinks or they leave the walk. */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Resolves true once every attached member has room, not counting one that has had none for
   * `slowWaitMs` while another has room (see the module comment); false when none is attached.
   */
  async #untilRoom(): Promise<boolean> {
    for (;;) {
      const now = performance.now();
      let attached = false;
      let someRoom = false;
      let waitMs = Number.POSITIVE_INFINITY;
      for (const m of this.members) {
        if (!m.attached || m.hasRoom) {
          this.#noRoomSince.delete(m);
          attached ||= m.attached;
          someRoom ||= m.attached;
          continue;
        }
        attached = true;
        const since = this.#noRoomSince.get(m) ?? now;
        this.#noRoomSince.set(m, since);
        const left = since + this.slowWaitMs - now;
        if (left > 0) waitMs = Math.min(waitMs, left);
      }
      if (!attached) return false;
      if (someRoom && waitMs === Number.POSITIVE_INFINITY) return true;
      // Until a member's queue shrinks or leaves, or (while another has room) the slow one's wait ends.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (someRoom) timer = setTimeout(resolve, Math.ceil(waitMs));
      });
      clearTimeout(timer);
    }
  }

  /** Resolves true once an attached member is as `ready` says, false when none is attached. */
  async #until(ready: (member: MemberSink) => boolean): Promise<boolean> {
    for (;;) {
      let attached = false;
      for (const m of this.members) {
        if (m.attached && ready(m)) return true;
        attached ||= m.attached;
      }
      if (!attached) return false;
      // Set before any other callback can run (no await between the check and here): no wake is missed.
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
