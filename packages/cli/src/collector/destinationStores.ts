/**
 * The store each (destination, account) pair of a collector writes through: every destination kind
 * is a {@link SyncStore}, so one walk of an account feeds them all the same way (packages/cli/src/sync/fanout.ts).
 * Stores are imported when a kind is in use, so DuckDB and pg load only for the destinations configured.
 */
import { join } from "node:path";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import type { SyncCommit, SyncIdentity, SyncState, SyncStore } from "../sync/store.js";
import { type AccountPlan, accountS3Target, type DestinationPlan } from "./plan.js";

/** The account's lease, when instances share the accounts (packages/cli/src/collector/coordination/leases.ts). */
export interface AccountFence {
  /** The lease's fencing token: PostgreSQL destinations refuse commits of an older one. */
  token: number;
  /** Whether the lease is still held (checked locally before each open and commit). */
  isHeld(): boolean;
}

/** What the making of a store needs besides the plans. */
export interface StoreContext {
  env: Readonly<Record<string, string | undefined>>;
  /** The collector's drain signal, SIGTERM/SIGINT (an alert delivery in flight ends with it; a reload's stop does not). */
  signal: AbortSignal;
  warn(line: string): void;
  /** Told of each (alert, destination) outcome of an alerts destination. */
  onAlert?(delivered: boolean): void;
  /** Told of each failed delivery attempt of an alerts destination (a retry counts). */
  onDeliveryFailure?(): void;
  fence?: AccountFence;
}

/** Raised instead of opening or committing once the account's lease is lost: nothing is written. */
export class LeaseLostError extends ClarifaiAuditError {
  override name = "LeaseLostError";
  constructor(account: string) {
    super(`account ${account}: this instance no longer holds its lease; another instance walks it now`);
  }
}

/** The lake of `account` inside a lake destination: `DIR/account=<id>/`. */
export function accountLakeDir(dir: string, account: string): string {
  return join(dir, `account=${account}`);
}

/** The store of `destination` for `account`. */
export async function createDestinationStore(
  destination: DestinationPlan,
  account: AccountPlan,
  context: StoreContext,
): Promise<SyncStore> {
  const store = await storeOf(destination, account, context);
  return context.fence === undefined ? store : leaseGuarded(store, account.id, context.fence);
}

async function storeOf(destination: DestinationPlan, account: AccountPlan, context: StoreContext) {
  switch (destination.kind) {
    case "lake": {
      const { createLakeStore } = await import("../sync/lake/store.js");
      return createLakeStore({
        dir: accountLakeDir(destination.dir, account.id),
        memory: "lean",
        ...(destination.sign !== undefined ? { sign: destination.sign } : {}),
      });
    }
    case "postgres": {
      const { createPostgresStore } = await import("../sync/postgres/store.js");
      return createPostgresStore({
        url: destination.url,
        ...(destination.table !== undefined ? { table: destination.table } : {}),
        env: context.env,
        account: account.id,
        ...(context.fence !== undefined ? { fence: { token: context.fence.token } } : {}),
      });
    }
    case "s3": {
      const { createDestinationStore } = await import("../sync/destination.js");
      return createDestinationStore(
        { kind: "s3", target: accountS3Target(destination.target, account.id) },
        {
          env: context.env,
          format: destination.format,
          account: account.id,
          memory: "lean",
          ...(destination.sign !== undefined ? { sign: destination.sign } : {}),
        },
      );
    }
    case "stream": {
      const { createDestinationStore } = await import("../sync/destination.js");
      return createDestinationStore(destination.target, {
        env: context.env,
        signal: context.signal,
        format: destination.format,
        account: account.id,
        statePath: join(destination.stateDir, `${account.id}.json`),
        ...(destination.ca !== undefined ? { ca: destination.ca } : {}),
        ...(destination.hecToken !== undefined ? { hecToken: destination.hecToken } : {}),
        ...(destination.hecTokenSource !== undefined ? { hecTokenSource: destination.hecTokenSource } : {}),
      });
    }
    case "alerts": {
      const { createAlertStore } = await import("./alertStore.js");
      return createAlertStore({
        path: join(destination.stateDir, `${account.id}.json`),
        account: account.id,
        destination,
        env: context.env,
        signal: context.signal,
        warn: context.warn,
        ...(context.onAlert !== undefined ? { onAlert: context.onAlert } : {}),
        ...(context.onDeliveryFailure !== undefined ? { onDeliveryFailure: context.onDeliveryFailure } : {}),
      });
    }
  }
}

/**
 * A store that opens and commits only while the account's lease is held: an instance that was
 * paused past its lease wakes to a refusal here before it writes (PostgreSQL destinations also
 * check the token inside the commit's transaction, which closes the gap between this check and the
 * write; lake and alert files are guarded by their pid locks, which the new owner cannot take while
 * this instance lives).
 */
function leaseGuarded(store: SyncStore, account: string, fence: AccountFence): SyncStore {
  const check = () => {
    if (!fence.isHeld()) throw new LeaseLostError(account);
  };
  const guarded: SyncStore = {
    get description() {
      return store.description;
    },
    ...(store.commitEntries !== undefined ? { commitEntries: store.commitEntries } : {}),
    ...(store.commitsInFlight !== undefined ? { commitsInFlight: store.commitsInFlight } : {}),
    open(identity: SyncIdentity): Promise<SyncState | undefined> {
      check();
      return store.open(identity);
    },
    commit(commit: SyncCommit) {
      check();
      return store.commit(commit);
    },
    close: () => store.close(),
  };
  if (store.prepare) guarded.prepare = (from) => store.prepare?.(from) ?? Promise.resolve();
  if (store.count) guarded.count = () => store.count?.() ?? Promise.resolve(0);
  if (store.hold) guarded.hold = () => store.hold?.();
  if (store.release) guarded.release = () => store.release?.() ?? Promise.resolve();
  return guarded;
}
