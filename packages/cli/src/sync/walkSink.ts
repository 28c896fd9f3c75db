/**
 * The export engine's sink for a walk of the fan-out (fanout.ts): hands every batch to every member
 * still attached (storeSink.ts), each of which queues and commits it on its own, and is the walk's
 * backpressure: the engine's next page waits until a member has room for it and no member is at its
 * lag bound (a member there holds the walk while it makes progress, and is detached when it stalls).
 * The commit interval waits until one member has made all it was given durable. Once no member is
 * left, the walk stops.
 */
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

  constructor(
    private readonly members: readonly MemberSink[],
    /** The cursor a resumed walk goes on from (its one member's run). */
    private readonly resume: ExportCursor | undefined,
    /** A member is done with this walk (its commits all ended): its store may be closed. */
    private readonly finished: (member: MemberSink) => Promise<unknown>,
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
    if (!(await this.#until((ms) => ms.some((m) => m.idle))))
      throw new NoMembersLeft("every member of the walk has left it");
  }

  async write(batch: ExportBatch): Promise<void> {
    for (const m of this.members) m.give(batch.entries, batch.cursor);
    // Some member can take more, and none is as far behind as it may be.
    const ready = (ms: MemberSink[]) => ms.some((m) => m.hasRoom) && !ms.some((m) => m.atBound);
    if (!(await this.#until(ready))) throw new NoMembersLeft("every member of the walk has left it");
  }

  /**
   * The engine's commit interval: every member commits what it was given; the walk waits until one
   * member has, not for the slower ones (their lag bound is where the walk waits for them).
   */
  async flush(): Promise<void> {
    for (const m of this.members) m.flush();
    // Never throws: the engine's end flushes before it closes, and the close must come.
    await this.#until((ms) => ms.some((m) => m.idle));
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

  /** Resolves true once the attached members are as `ready` says, false when none is attached. */
  async #until(ready: (attached: MemberSink[]) => boolean): Promise<boolean> {
    for (;;) {
      const attached = this.members.filter((m) => m.attached);
      if (attached.length === 0) return false;
      if (ready(attached)) return true;
      // Set before any other callback can run (no await between the check and here): no wake is missed.
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
