/**
 * The steps a store with a local state file takes at `open` before it writes or sends anything (the
 * collector's alert store, the syslog and HEC delivery stores): the folder made, every file it will
 * write checked to be a regular file or absent, the pid lock taken (a second writer refused), and a
 * saved state checked to be of this destination, account and identity.
 */
import { dirname } from "node:path";
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { identityMismatch } from "@clarifai-audit/client/internal/export/identity.js";
import { makeDirs, writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import { acquireLock, type HeldLock, LockHeldError } from "@clarifai-audit/client/internal/state/lock.js";
import { checkRegularOrAbsent, OutputPathError } from "@clarifai-audit/client/internal/state/outputPath.js";
import { NS } from "@clarifai-audit/client/internal/state/schemaParts.js";
import { readValidatedState, StateFileError } from "@clarifai-audit/client/internal/state/stateReader.js";
import { encodedKeysProblem } from "./keyTable.js";
import type { SavedKeys } from "./keyWindow.js";
import { syncStateProblem } from "./stateSchema.js";
import { type SyncIdentity, type SyncState, SyncUsageError } from "./store.js";

/**
 * A damaged or unusable state file as the one-line refusal a store throws; anything else as is.
 * @throws always.
 */
export function refuseStateFile(error: unknown): never {
  if (error instanceof StateFileError || error instanceof OutputPathError)
    throw new SyncUsageError(`${error.message}; nothing was changed`);
  throw error;
}

/**
 * Makes the folder of `path`, checks `files` (regular or absent) and takes the lock of `path`.
 * @param label the destination for messages.
 * @param writer who holds it when the lock is taken, for the refusal ("another collector is delivering").
 * @throws SyncUsageError (one line) for a folder that cannot be made, a file that is not regular, a held lock.
 */
export async function lockStateFile(
  path: string,
  files: readonly string[],
  label: string,
  writer: string,
): Promise<HeldLock> {
  await makeDirs(dirname(path)).catch((error: NodeJS.ErrnoException) => {
    throw SyncUsageError.store(`cannot create ${dirname(path)} (${error.code ?? error.message})`);
  });
  for (const p of files) await checkRegularOrAbsent(label, p).catch(refuseStateFile);
  try {
    return await acquireLock(path);
  } catch (error) {
    if (error instanceof LockHeldError) throw SyncUsageError.store(`${writer} ${label} (${error.message})`);
    throw SyncUsageError.store(`cannot lock ${path} (${(error as Error).message})`);
  }
}

/** Whose a saved state file is. */
export interface StateOwner {
  /** The account; absent (or "") for `sync`'s own. */
  account?: string | undefined;
  destination: string;
}

/**
 * Refuses a state file saved for another destination or account, or for another identity.
 * @param what what the file is ("the alert checkpoint", "the delivery state").
 * @throws SyncUsageError (one line) naming the file, whose it is and whose it should be.
 */
export function checkStateOwner(
  path: string,
  what: string,
  saved: StateOwner & { identity?: SyncIdentity | undefined },
  wanted: StateOwner & { identity: SyncIdentity; reader: string; remedy: string },
): void {
  const of = (o: StateOwner) => `${o.account ? `account ${o.account} for ` : ""}destination ${o.destination}`;
  if ((saved.account ?? "") !== (wanted.account ?? "") || saved.destination !== wanted.destination)
    throw new SyncUsageError(`${path} is ${what} of ${of(saved)}, not of ${of(wanted)}; nothing was changed`);
  const held = saved.identity;
  if (held !== undefined && canonicalJson(held) !== canonicalJson(wanted.identity))
    throw SyncUsageError.store(
      identityMismatch({
        place: path,
        held,
        wanted: wanted.identity,
        reader: wanted.reader,
        remedy: wanted.remedy,
      }),
    );
}

/** The JSON Schema properties of {@link SavedKeys} in a state file. */
export const SAVED_KEYS_PROPERTIES = {
  // Checked in the spec's check: a pattern over megabytes of base64 would strain the regex engine.
  keys: { type: "string" },
  keysFrom: NS,
} as const;

/** Largest local state file read: the keys of a busy reconcile window take 28 bytes an entry. */
export const MAX_LOCAL_STATE_BYTES = 256 * 1024 * 1024;

/** What a local state file is, for {@link readLocalState}. */
export interface LocalStateSpec {
  /** Its JSON Schema (with {@link SAVED_KEYS_PROPERTIES}). */
  schema: object;
  kind: string;
  version: number;
  /** What it is: "a clarifai-audit alert checkpoint". */
  what: string;
  /** The end of a refusal: "nothing was changed (a damaged alert checkpoint)". */
  refusal: string;
}

/**
 * Reads and checks a local state file that keeps a sync state and saved keys (a regular file,
 * bounded, its schema, its keys well-formed); undefined when there is none.
 * @throws SyncUsageError (one line naming the file and the field) for anything else, before anything is written.
 */
export async function readLocalState<T extends SavedKeys & { state?: SyncState | undefined }>(
  path: string,
  spec: LocalStateSpec,
): Promise<T | undefined> {
  try {
    return await readValidatedState<T>(path, {
      schema: spec.schema,
      kind: { field: "kind", value: spec.kind },
      version: { field: "schemaVersion", reads: spec.version, what: spec.what },
      check: (c) => {
        const keys = encodedKeysProblem(c.keys);
        if (keys !== undefined) return ["/keys", keys];
        return c.state !== undefined ? syncStateProblem(c.state, "/state") : undefined;
      },
      maxBytes: MAX_LOCAL_STATE_BYTES,
    });
  } catch (error) {
    if (error instanceof StateFileError) throw new SyncUsageError(`${error.message}; ${spec.refusal}`);
    throw error;
  }
}

/** Replaces a local state file atomically and durably (one JSON line). */
export async function writeLocalState(path: string, content: object): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(content)}\n`);
}

/**
 * The lock of a local state file across a store's opens: taken at the first, kept by `hold` (the
 * store's SyncStore.hold: `sync --follow`, a collector's rounds) until `unhold`.
 */
export class StateFileLock {
  private lock: HeldLock | undefined;
  private holding = false;

  constructor(
    private readonly path: string,
    /** Every file the store writes (checked regular or absent). */
    private readonly files: readonly string[],
    private readonly label: string,
    /** Who holds it, for the refusal ("another collector is delivering"). */
    private readonly writer: string,
  ) {}

  /** Takes the lock unless this store holds it already (see {@link lockStateFile}). */
  async take(): Promise<void> {
    // Held since the last round (hold): taking it again would find this live process holding it.
    this.lock ??= await lockStateFile(this.path, this.files, this.label, this.writer);
  }

  /** From now on {@link release} keeps the lock, until {@link unhold}. */
  hold(): void {
    this.holding = true;
  }

  unhold(): void {
    this.holding = false;
  }

  /** Releases the lock unless held. */
  async release(): Promise<void> {
    if (this.holding) return;
    await this.lock?.release();
    this.lock = undefined;
  }
}
