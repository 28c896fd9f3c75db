/**
 * The file sink: streams batches into `FILE.partial`, commits durable progress (length, SHA-256 and
 * the engine's cursor) to `FILE.manifest.json`, and at the end renames (or gzips) the result into
 * place. A commit only ever records data that was fsynced first, so after a crash at any point the
 * manifest never points past the data, and `resume` continues exactly after the last commit.
 */
import { createReadStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { SignOptions } from "../../digest/chain.js";
import type { LeafFormat } from "../../digest/leaves.js";
import { canonicalJson } from "../../domain/canonicalJson.js";
import { crashPoint } from "../../state/crashPoint.js";
import { fsyncDir, pathExists } from "../../state/durableFile.js";
import { acquireLock, type HeldLock, LockHeldError } from "../../state/lock.js";
import { checkRegularOrAbsent, openRegular } from "../../state/outputPath.js";
import { ExportUsageError } from "../errors.js";
import type { DataFormat } from "../formats.js";
import { identityMismatch } from "../identity.js";
import {
  type ExportIdentity,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestCommit,
  ManifestError,
  manifestPath,
  partialPath,
  readManifest,
  removeManifest,
  writeManifest,
} from "../manifest.js";
import type { ExportBatch, ExportCursor, ExportSink, SinkOpenInfo } from "../sink.js";
import { BatchText } from "./batchText.js";
import { PartialWriter } from "./partialWriter.js";
import { CommitSigner, checkNewDigests, type DigestHead, digestsPath } from "./signedCommits.js";

/** Options of {@link FileSink}. */
export interface FileSinkOptions {
  /** The output file; `FILE.partial`, `FILE.manifest.json` and `FILE.lock` live beside it. */
  out: string;
  format: DataFormat;
  /** Gzip the finished file (the partial file and its hash stay uncompressed). */
  gzip?: boolean;
  /** Continue the interrupted export described by `FILE.manifest.json` (same identity required). */
  resume?: boolean;
  /** Overwrite an existing output file or discard an interrupted export. */
  force?: boolean;
  /** The clock for the manifest's `updatedAt`. */
  now?: () => number;
  /**
   * Sign each commit: a digest per commit in `FILE.digests/` (docs/verifiable-logs.md), written
   * before the manifest that commits it. Not with csv (its lines are not the entries' JSON lines).
   */
  sign?: SignOptions;
}

/** What the file holds: its uncompressed length and SHA-256. */
export interface FileSinkResult {
  bytes: number;
  sha256: string;
  /** A signed export's newest digest: its sequence number and hash (the chain's head). */
  digest?: { seq: number; hash: string };
}

/**
 * Refuses, before any request, a state or output path the sink could not write: anything but a
 * regular file there (a directory, a FIFO, a device, a symbolic link) is never replaced.
 */
async function checkPaths(paths: readonly string[]): Promise<void> {
  for (const path of paths) await checkRegularOrAbsent("out", path);
}

function cursorFromManifest(m: Manifest): ExportCursor {
  const c = m.committed;
  return {
    version: 1,
    window: { ...m.window },
    slice: { ...c.slice },
    page: c.cursor.page,
    ...(c.cursor.boundary !== undefined ? { boundary: c.cursor.boundary } : {}),
    boundaryKeys: [...c.cursor.boundaryKeys],
    sliceDone: c.sliceDone,
    complete: c.complete ?? false,
    stats: { entries: c.entries, pages: c.pages, ...c.stats },
  };
}

/** The output file (or its manifest) `path` cannot be used as asked: `problem` says why, whole. */
function refused(path: string, problem: string): ExportUsageError {
  return new ExportUsageError({ input: path, problem }, problem);
}

/** An {@link ExportSink} writing one file (jsonl, csv or json, optionally gzipped) with a resumable manifest. */
export class FileSink implements ExportSink {
  readonly #o: Required<Omit<FileSinkOptions, "now" | "sign">> & { now: () => number };
  readonly #sign: SignOptions | undefined;
  #signer: CommitSigner | undefined;
  /** The newest committed digest (what the manifest records). */
  #head: DigestHead | undefined;
  /** Empties `FILE.digests/` of what a new export replaces (see checkNewDigests). */
  #clearDigests: (() => Promise<void>) | undefined;
  #lock: HeldLock | undefined;
  #writer: PartialWriter | undefined;
  #identity: ExportIdentity | undefined;
  #cursor: ExportCursor | undefined;
  /** The file's text, batch by batch; counts the entries in the file (JSON needs it for its commas). */
  readonly #text: BatchText;
  #dirty = false;
  /** The footer is written: only the rename (or gzip) is left. */
  #complete = false;
  /** A previous run already put the file in place; closing only removes the manifest. */
  #finished: FileSinkResult | undefined;

  constructor(options: FileSinkOptions) {
    this.#o = {
      gzip: false,
      resume: false,
      force: false,
      ...options,
      now: options.now ?? Date.now,
    };
    this.#sign = options.sign;
    this.#text = new BatchText(this.#o.format);
    if (this.#o.out === "")
      throw new ExportUsageError({ input: "out", problem: "the output file name is empty" });
    if (this.#o.resume && this.#o.force)
      throw new ExportUsageError(
        { input: "resume", problem: "cannot be combined with force" },
        "resume and force cannot be combined",
      );
    if (this.#sign !== undefined && this.#o.format === "csv")
      throw new ExportUsageError(
        { input: "sign", problem: "a csv export cannot be signed" },
        "`sign`: a csv export cannot be signed (a digest's leaves are the entries' JSON lines); export jsonl, json or ocsf",
      );
  }

  /** Bytes and SHA-256 of the (uncompressed) output so far. */
  get result(): FileSinkResult {
    const head = this.#head;
    const digest = head === undefined ? {} : { digest: { seq: head.seq, hash: head.sha256 } };
    if (this.#finished) return { ...this.#finished, ...digest };
    return { bytes: this.#writer?.bytes ?? 0, sha256: this.#writer?.digest() ?? "", ...digest };
  }

  async open(info: SinkOpenInfo): Promise<ExportCursor | undefined> {
    const { out } = this.#o;
    try {
      this.#lock = await acquireLock(out);
    } catch (error) {
      if (error instanceof LockHeldError)
        throw refused(
          out,
          `another export holds ${out} (${error.path}: pid ${error.owner.pid} on ${error.owner.host}); wait for it to finish or stop it`,
        );
      throw error;
    }
    try {
      return await this.#open(info);
    } catch (error) {
      await this.#release();
      throw error;
    }
  }

  async #open(info: SinkOpenInfo): Promise<ExportCursor | undefined> {
    const { out, format, gzip } = this.#o;
    const perPage = info.identity.perPage;
    this.#identity = {
      filters: {},
      ...info.identity,
      perPage: typeof perPage === "number" ? perPage : 0,
      format,
      gzip,
    };
    const partial = partialPath(out);
    await checkPaths([out, partial, manifestPath(out), `${out}.gz-partial`]);
    let previous: Manifest | undefined;
    try {
      previous = await readManifest(out);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      // --force discards the interrupted export, whatever state its manifest is in.
      if (!this.#o.force)
        throw refused(
          error.path,
          `cannot use ${error.path}: ${error.problem}; pass \`force\` to discard it and start over`,
        );
    }
    if (!this.#o.resume) {
      if (previous !== undefined && !this.#o.force) {
        throw refused(
          out,
          `an interrupted export of ${out} exists (${manifestPath(out)}); pass \`resume\` to continue it or \`force\` to start over`,
        );
      }
      const exists = await pathExists(out);
      if (exists && !this.#o.force)
        throw refused(out, `${out} already exists; pass \`force\` to overwrite it`);
      // A crash before the first commit leaves the partial file (and maybe its first digest), no manifest.
      const crashedStart = previous === undefined && !exists && (await pathExists(partial));
      this.#clearDigests = await checkNewDigests(out, { force: this.#o.force, crashedStart });
      if (this.#sign !== undefined) this.#signer = CommitSigner.create(out, format as LeafFormat, this.#sign);
      return undefined;
    }
    if (previous === undefined) throw refused(out, `nothing to resume: ${manifestPath(out)} does not exist`);
    if (canonicalJson(previous.query) !== canonicalJson(this.#identity)) {
      throw refused(
        out,
        `refusing to resume: ${identityMismatch({
          place: manifestPath(out),
          held: previous.query,
          wanted: this.#identity,
          reader: "this export",
          remedy: "resume with the same options, or pass `force` to start over",
        })}`,
      );
    }
    const committed = previous.committed;
    await this.#resumeChain(previous);
    const cursor = cursorFromManifest(previous);
    this.#cursor = cursor;
    this.#text.entries = committed.entries;
    this.#complete = committed.complete ?? false;
    if (!(await pathExists(partial))) {
      if (committed.complete && (await pathExists(out))) {
        // Crashed between the final rename and removing the manifest: the export is done.
        this.#finished = { bytes: committed.bytes, sha256: committed.sha256 };
        return cursor;
      }
      throw refused(out, `cannot resume: ${partial} is missing`);
    }
    const writer = await PartialWriter.resume(partial, committed.bytes, committed.sha256);
    if (!(writer instanceof PartialWriter)) {
      throw refused(
        out,
        writer.kind === "short"
          ? `cannot resume: ${partial} has ${writer.size} bytes, the manifest committed ${committed.bytes}`
          : `cannot resume: the committed part of ${partial} does not match its SHA-256 in the manifest`,
      );
    }
    this.#writer = writer;
    return cursor;
  }

  /**
   * Refuses a signed resume of an unsigned export and the other way round, then continues the chain
   * from the manifest's head digest (checked), deleting the digests of commits that never happened.
   */
  async #resumeChain(previous: Manifest): Promise<void> {
    const { out, format } = this.#o;
    const head = previous.digest;
    if (head === undefined && this.#sign !== undefined)
      throw refused(
        out,
        `\`sign\`: the interrupted export of ${out} is not signed; resume it without \`sign\`, or pass \`force\` to start over signed`,
      );
    if (head !== undefined && this.#sign === undefined)
      throw refused(
        out,
        `the interrupted export of ${out} is signed (${digestsPath(out)}); resume it with \`sign\` and its key, or pass \`force\` to start over`,
      );
    if (head === undefined || this.#sign === undefined) return;
    this.#signer = await CommitSigner.resume(
      out,
      format as LeafFormat,
      this.#sign,
      head,
      previous.committed.bytes,
    );
    this.#head = head;
  }

  /** Appends `text` to the partial file (and to the commit's digest when signed). */
  async #append(text: string | Uint8Array): Promise<void> {
    if (text.length === 0) return;
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    await (this.#writer as PartialWriter).write(bytes);
    this.#signer?.observe(bytes);
  }

  async start(cursor: ExportCursor): Promise<void> {
    // Old digests go only once the new walk begins: a run refused or failed before leaves them.
    await this.#clearDigests?.();
    this.#clearDigests = undefined;
    this.#cursor = cursor;
    this.#writer = await PartialWriter.create(partialPath(this.#o.out));
    await this.#append(this.#text.header());
    await this.#commit();
  }

  async write(batch: ExportBatch): Promise<void> {
    if (this.#writer === undefined) throw new Error("FileSink.write before open/start");
    await this.#append(this.#text.batch(batch));
    this.#cursor = batch.cursor;
    this.#dirty = true;
  }

  async flush(): Promise<void> {
    if (this.#dirty) await this.#commit();
  }

  async close(outcome: { complete: boolean; error?: unknown }): Promise<void> {
    try {
      if (this.#finished) {
        if (outcome.complete) await removeManifest(this.#o.out);
        return;
      }
      const writer = this.#writer;
      if (writer === undefined) return;
      if (!outcome.complete) {
        try {
          if (this.#dirty) await this.#commit();
        } finally {
          await writer.close();
        }
        return;
      }
      if (!this.#complete) {
        await this.#append(this.#text.footer());
        this.#complete = true;
        await this.#commit();
      }
      await writer.close();
      await this.#finish();
    } finally {
      await this.#release();
    }
  }

  async #finish(): Promise<void> {
    const { out } = this.#o;
    const partial = partialPath(out);
    if (this.#o.gzip) {
      const tmp = `${out}.gz-partial`;
      try {
        const gz = await openRegular("out", tmp, "truncate");
        try {
          await pipeline(createReadStream(partial), createGzip(), async (source: AsyncIterable<Buffer>) => {
            for await (const chunk of source) await gz.writeFile(chunk);
          });
          await gz.sync();
        } finally {
          await gz.close();
        }
        await rename(tmp, out);
      } catch (error) {
        await unlink(tmp).catch(() => undefined);
        throw error;
      }
      await unlink(partial);
    } else {
      await rename(partial, out);
    }
    await fsyncDir(dirname(out));
    await removeManifest(out);
  }

  /**
   * Commits: the data synced, then (signed) the commit's digest written durably, then the manifest
   * replaced (the commit point), recording the data's length and hash and the digest as the head.
   */
  async #commit(): Promise<void> {
    const writer = this.#writer as PartialWriter;
    const cursor = this.#cursor as ExportCursor;
    const stats = cursor.stats;
    const identity = this.#identity as ExportIdentity;
    await writer.sync();
    const committed: ManifestCommit = {
      bytes: writer.bytes,
      sha256: writer.digest(),
      entries: this.#text.entries,
      pages: stats?.pages ?? 0,
      slice: { ...cursor.slice },
      cursor: {
        page: cursor.page,
        ...(cursor.boundary !== undefined ? { boundary: cursor.boundary } : {}),
        boundaryKeys: cursor.boundaryKeys,
      },
      sliceDone: cursor.sliceDone,
      ...(this.#complete ? { complete: true } : {}),
      stats: {
        retries: stats?.retries ?? 0,
        shiftedPages: stats?.shiftedPages ?? 0,
        repeated: stats?.repeated ?? 0,
        stale: stats?.stale ?? 0,
        ...(stats?.requests !== undefined ? { requests: stats.requests } : {}),
      },
    };
    const head = await this.#signer?.commit({
      identity,
      window: { from: cursor.window.from, to: cursor.window.to },
      cursor: { slice: committed.slice, ...committed.cursor, sliceDone: committed.sliceDone },
      complete: this.#complete,
    });
    await writeManifest(this.#o.out, {
      version: MANIFEST_VERSION,
      kind: "clarifai-audit-export",
      query: identity,
      format: this.#o.format,
      gzip: this.#o.gzip,
      perPage: identity.perPage,
      window: { ...cursor.window },
      committed,
      ...(head !== undefined ? { digest: head } : {}),
      updatedAt: new Date(this.#o.now()).toISOString(),
    });
    if (head !== undefined) this.#head = head;
    crashPoint("export.committed");
    this.#dirty = false;
  }

  async #release(): Promise<void> {
    const lock = this.#lock;
    this.#lock = undefined;
    await lock?.release();
  }
}

/** A {@link FileSink} (see there). */
export function createFileSink(options: FileSinkOptions): FileSink {
  return new FileSink(options);
}
