/**
 * `COPY … FROM STDIN` over node-postgres without pg-copy-streams: a Submittable (pg's extension
 * point for custom queries, the one pg-copy-streams and pg-cursor use) that sends prepared chunks
 * when the server asks for them. The whole batch is in memory already (the engine hands over a
 * batch at a time), so no stream is needed.
 */
import type { Connection, Submittable } from "pg";

/** The copy methods of pg's Connection (present since pg 7; @types/pg does not declare them). */
interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** A COPY FROM STDIN of `chunks` (text format); resolves with the rows copied. */
export class CopyIn implements Submittable {
  readonly done: Promise<number>;
  #resolve!: (rows: number) => void;
  #reject!: (err: unknown) => void;
  #rows = 0;
  #settled = false;

  constructor(
    readonly text: string,
    readonly chunks: readonly Buffer[],
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: Connection): void {
    const c = connection as unknown as CopyConnection;
    for (const chunk of this.chunks) c.sendCopyFromChunk(chunk);
    c.endCopyFrom();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? "");
    if (m) this.#rows = Number(m[1]);
  }

  handleReadyForQuery(): void {
    this.#settle(undefined);
  }

  /** The server's error (then pg skips our ReadyForQuery) or a dead connection. */
  handleError(err: unknown): void {
    this.#settle(err ?? new Error("COPY failed"));
  }

  // Messages a COPY never gets; pg calls them by name on the active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  #settle(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    if (err === undefined) this.#resolve(this.#rows);
    else this.#reject(err);
  }
}
