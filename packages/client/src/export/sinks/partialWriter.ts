/**
 * Appends to a file at a known length, hashing as it goes: the file sink's `FILE.partial`. Nothing is
 * durable until `sync`; the manifest only ever records a length (and hash) that was synced first.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { openRegular } from "../../state/outputPath.js";

/** SHA-256 of the first `bytes` bytes of `path`, as a running hash to continue. */
export async function hashPrefix(path: string, bytes: number): Promise<Hash> {
  const hash = createHash("sha256");
  if (bytes === 0) return hash;
  const stream = createReadStream(path, { start: 0, end: bytes - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash;
}

/** What {@link PartialWriter.resume} found wrong with the file, if anything. */
export type ResumeProblem = { kind: "short"; size: number } | { kind: "hash" };

/** Appends to a partial file, hashing as it goes; `sync` makes everything written so far durable. */
export class PartialWriter {
  private constructor(
    private readonly fh: FileHandle,
    private length: number,
    private readonly hash: Hash,
  ) {}

  /** Creates (or truncates) `path` for a new run. */
  static async create(path: string): Promise<PartialWriter> {
    return new PartialWriter(await openRegular("out", path, "truncate"), 0, createHash("sha256"));
  }

  /**
   * Reopens `path` at its committed length: cuts what was written after the last commit, and checks
   * that what remains is what was committed.
   */
  static async resume(path: string, bytes: number, sha256: string): Promise<PartialWriter | ResumeProblem> {
    const fh = await open(path, "r+");
    try {
      const size = (await fh.stat()).size;
      if (size < bytes) {
        await fh.close();
        return { kind: "short", size };
      }
      await fh.truncate(bytes);
      const writer = new PartialWriter(fh, bytes, await hashPrefix(path, bytes));
      if (writer.digest() !== sha256) {
        await fh.close();
        return { kind: "hash" };
      }
      return writer;
    } catch (error) {
      await fh.close().catch(() => undefined);
      throw error;
    }
  }

  /** Bytes written so far (durable or not). */
  get bytes(): number {
    return this.length;
  }

  async write(text: string | Uint8Array): Promise<void> {
    if (text.length === 0) return;
    const buf = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    let off = 0;
    // Awaiting each write is the backpressure: the next page is taken only once this one is on disk.
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, this.length + off);
      off += bytesWritten;
    }
    this.hash.update(buf);
    this.length += buf.length;
  }

  /** SHA-256 (hex) of everything written so far. */
  digest(): string {
    return this.hash.copy().digest("hex");
  }

  async sync(): Promise<void> {
    await this.fh.sync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
