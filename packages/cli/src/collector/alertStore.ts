/**
 * The collector's alert destination as a {@link SyncStore}: the account's one walk feeds detection
 * rules exactly as it feeds a lake or a table, with the same cursor, reconcile window and crash story.
 *
 * A commit skips the entries it has already evaluated (their keys are kept for the reconcile window,
 * as the lake keeps them: packages/cli/src/sync/keyTable.ts), evaluates the new ones in order, and
 * writes the alerts they fire into the checkpoint's outbox together with the new sync state, the
 * rules' state and the keys, in one atomic replace (packages/cli/src/collector/alertCheckpoint.ts).
 * Only then are they sent to every destination (watch's Dispatcher: retries, dead-letter file), each
 * (alert, destination) pair recorded in the journal `PATH.delivered` once done; the commit resolves
 * when every pair is delivered or dead-lettered, and the next commit's checkpoint drops the outbox.
 * A stop (the signal: a drain, a lost lease, a reload) ends deliveries without dead-lettering them: the commit rejects
 * (DeliveryInterruptedError), no later commit drops the outbox, and the next open delivers it.
 * `open` first delivers an outbox a crash left, minus what the journal records.
 *
 * Exactly once, as `watch --checkpoint` (docs/cli/watch.md, "Exactly once across restarts"): a
 * SIGKILL before the checkpoint is written loses nothing (the walk offers the entries again, the
 * saved rules' state gives the same alerts with the same keys); after it, the outbox is delivered
 * on the next open minus the journal's pairs. The one window for a repeat is between a receiver's
 * 2xx and the journal line's fsync (a kill there, or the account stopping before the answer is
 * read: an interrupted delivery stays in the outbox): that one pair per destination may be sent
 * again, with the same alert key (a hash of the rule, the group and the entries' keys) and the
 * X-Clarifai-Audit-Alert-Key header, so a receiver can drop it.
 *
 * Forgotten keys cannot be recalled (the store keeps no entries): an entry dated before the
 * bound its keys were forgotten at (`keysFrom`, the commits' forgetKeysBefore less `keepKeysMs`) is
 * taken as already evaluated and skipped. A later run whose reconcile window reaches further back
 * than that (a longer `reconcile` or `settle` after a config change) therefore does not evaluate
 * late arrivals older than the bound; `keepKeysMs` widens the margin.
 */
import { redact, registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import { KeyWindow, stateAfter } from "../sync/keyWindow.js";
import { checkStateOwner, refuseStateFile, StateFileLock } from "../sync/localState.js";
import { type SyncCommit, type SyncIdentity, type SyncStore, SyncUsageError } from "../sync/store.js";
import type { Alert } from "../watch/alert.js";
import {
  DeadLetter,
  DeliveryJournal,
  type DeliveryOptions,
  type Destination,
  execDestination,
  webhookDestination,
} from "../watch/destinations.js";
import { Dispatcher } from "../watch/dispatcher.js";
import { Evaluator } from "../watch/evaluator.js";
import type { RestEntry } from "../watch/rules.js";
import { webhookUrlProblem } from "../watch/webhookUrl.js";
import {
  ALERT_CHECKPOINT_VERSION,
  type AlertCheckpoint,
  readAlertCheckpoint,
  writeAlertCheckpoint,
} from "./alertCheckpoint.js";
import type { AlertsDestinationPlan } from "./plan.js";

/** Options of {@link createAlertStore}. */
export interface AlertStoreOptions {
  /** The checkpoint file (the collector's STATE_DIR/alerts/<destination>/<account>.json). */
  path: string;
  /** The account whose entries are evaluated. */
  account: string;
  destination: AlertsDestinationPlan;
  /** Where an exec destination's few variables come from. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * The account stops (SIGTERM's drain, its lease lost or given up, a reload): a delivery in flight
   * ends at once and stays in the outbox, neither dead-lettered nor journalled, so whoever opens the
   * checkpoint next (this process, or the account's next owner once the lock is free) delivers it.
   */
  signal?: AbortSignal;
  /** One line per dead-lettered (alert, destination) and per notice; no secret in it. */
  warn(line: string): void;
  /** After each (alert, destination) outcome: delivered, or dead-lettered. */
  onAlert?(delivered: boolean): void;
  /** After each failed delivery attempt, retried or not. */
  onDeliveryFailure?(): void;
  /** Keys are kept this much longer than the sync asks (default 0): see the module comment. */
  keepKeysMs?: number;
}

/** The alert store, with its delivery figures since it was created. */
export type AlertStore = SyncStore & { readonly alerts: number; readonly deadLettered: number };

/** The journal whose every fsynced line is a crash point of the tests. */
class CrashPointJournal extends DeliveryJournal {
  override async record(key: string, dest: string): Promise<void> {
    await super.record(key, dest);
    crashPoint("alerts.delivered-one");
  }
}

/** The destinations of `plan`; throws SyncUsageError (one line) for a URL that cannot be one. */
function destinationsOf(plan: AlertsDestinationPlan, options: DeliveryOptions): Destination[] {
  const out: Destination[] = [];
  const hooks = [
    ...plan.webhooks.map((u) => ["alert_webhook", u, "json"] as const),
    ...plan.slack.map((u) => ["alert_slack", u, "slack"] as const),
  ];
  for (const [key, url, flavour] of hooks) {
    const problem = webhookUrlProblem(url, flavour, "alert_secret_env");
    if (problem !== undefined) throw new SyncUsageError(`${plan.where}: ${key}: ${problem}`);
    out.push(webhookDestination(url, flavour, options));
  }
  for (const cmd of plan.exec) {
    if (cmd.trim() === "") throw new SyncUsageError(`${plan.where}: alert_exec: the command is empty`);
    out.push(execDestination(cmd, options));
  }
  return out;
}

/** What an open store holds. */
interface Open {
  checkpoint: AlertCheckpoint;
  /** The checkpoint was read from the file (not a new one). */
  saved: boolean;
  keys: KeyWindow;
  evaluator: Evaluator;
  journal: DeliveryJournal;
  dispatcher: Dispatcher;
}

/** Creates the alert store of one (alert destination, account); nothing is opened until `open`. */
export function createAlertStore(options: AlertStoreOptions): AlertStore {
  const plan = options.destination;
  // Registered at once: no message of this process may quote them, whatever fails first.
  registerSecret(plan.secret);
  const delivery: DeliveryOptions = {
    attempts: plan.attempts,
    backoffMs: plan.backoffMs,
    timeoutMs: plan.timeoutMs,
    ...(plan.secret !== undefined ? { secret: plan.secret } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onDeliveryFailure !== undefined ? { onFailedAttempt: options.onDeliveryFailure } : {}),
    env: options.env,
  };
  const label = `alerts ${plan.id} (account ${options.account})`;
  const path = options.path;
  const keepKeysNs = BigInt(Math.max(0, Math.round(options.keepKeysMs ?? 0))) * 1_000_000n;
  let destinations: Destination[] | undefined;
  const lock = new StateFileLock(
    path,
    [path, `${path}.delivered`, `${path}.dead-letter.jsonl`],
    label,
    "another collector is delivering",
  );
  let open: Open | undefined;
  /** Figures of the dispatchers of earlier opens. */
  let alertsBefore = 0;
  let deadLetteredBefore = 0;
  let warnedForgotten = false;

  async function load(identity: SyncIdentity): Promise<Open> {
    const saved = await readAlertCheckpoint(path);
    if (saved !== undefined)
      checkStateOwner(
        path,
        "the alert checkpoint",
        { ...saved, identity: saved.state.identity },
        {
          account: options.account,
          destination: plan.id,
          identity,
          reader: "this collector",
          remedy: "use the account's former filters, or delete the checkpoint to start afresh",
        },
      );
    let keys = KeyWindow.empty();
    try {
      if (saved !== undefined) keys = KeyWindow.load(saved);
    } catch (error) {
      throw new SyncUsageError(`${path} is damaged (${(error as Error).message}); nothing was changed`);
    }
    const journal = new CrashPointJournal(`${path}.delivered`);
    await journal.load().catch(refuseStateFile);
    const evaluator = new Evaluator(plan.rules, saved?.rules);
    for (const id of evaluator.reset)
      options.warn(
        `clarifai-audit: warning: ${label}: rule ${id} changed since the checkpoint; its state starts afresh`,
      );
    const dispatcher = new Dispatcher(
      undefined,
      "jsonl",
      destinations as Destination[],
      delivery,
      new DeadLetter(`${path}.dead-letter.jsonl`),
      journal,
      (line) => options.warn(redact(line)),
      { label, onOutcome: (_dest, delivered) => options.onAlert?.(delivered), keepInterrupted: true },
    );
    const checkpoint: AlertCheckpoint = saved ?? {
      kind: "clarifai-audit-alerts",
      schemaVersion: ALERT_CHECKPOINT_VERSION,
      account: options.account,
      destination: plan.id,
      state: {
        version: 1,
        identity,
        totals: { entries: 0, late: 0, runs: 0 },
        updatedAt: new Date().toISOString(),
      },
      rules: {},
      outbox: [],
      keys: "",
    };
    return { checkpoint, saved: saved !== undefined, keys, evaluator, journal, dispatcher };
  }

  /** Sends `alerts` everywhere; resolves when each (alert, destination) is delivered or dead-lettered. */
  async function deliver(o: Open, alerts: readonly Alert[]): Promise<void> {
    await Promise.all(alerts.map((alert) => o.dispatcher.deliver(alert)));
  }

  const store: AlertStore = {
    description: label,
    get alerts() {
      return alertsBefore + (open?.dispatcher.alerts ?? 0);
    },
    get deadLettered() {
      return deadLetteredBefore + (open?.dispatcher.deadLettered ?? 0);
    },

    async open(identity) {
      // Every check before anything is written: the destinations, the three files, the lock.
      destinations ??= destinationsOf(plan, delivery);
      await lock.take();
      try {
        // Read afresh at every open: a failed commit may have left memory ahead of the file.
        open = await load(identity);
        // Alerts a crash left in the outbox come first, minus the pairs the journal has.
        await deliver(open, open.checkpoint.outbox);
        return open.saved ? open.checkpoint.state : undefined;
      } catch (error) {
        await store.close();
        throw error;
      }
    },

    async prepare(from) {
      const o = open;
      if (o === undefined) throw new Error("the alert store is not open");
      if (warnedForgotten || !o.keys.reachesForgotten(from)) return;
      warnedForgotten = true;
      options.warn(
        `clarifai-audit: warning: ${label}: this run re-reads entries older than the keys the alert checkpoint keeps; those are taken as evaluated, not evaluated again (a longer reconcile or settle than before: see keepKeysMs)`,
      );
    },

    async commit(commit: SyncCommit) {
      const o = open;
      if (o === undefined) throw new Error("the alert store is not open");
      const alerts: Alert[] = [];
      const { fresh, late } = o.keys.admit(commit.entries, commit.lateAtOrBefore);
      const inserted = fresh.length;
      for (const entry of fresh) {
        const line = entry.json();
        for (const a of o.evaluator.evaluate({ json: JSON.parse(line) as RestEntry, line })) alerts.push(a);
      }
      const bound = o.keys.forget(commit.forgetKeysBefore, keepKeysNs);
      // No entry older than the bound is evaluated again: windows that cannot reach it go.
      if (bound !== undefined) o.evaluator.prune(bound);
      const checkpoint: AlertCheckpoint = {
        ...o.checkpoint,
        state: stateAfter(commit.state, inserted, late),
        rules: o.evaluator.snapshot(),
        outbox: alerts,
        ...o.keys.save(),
      };
      // Memory is ahead of the file (a failed write), or pairs are not done (interrupted, a journal
      // that cannot be written; they stay in the outbox): the store must be opened again before it
      // commits more, and that open reads the file and delivers the outbox.
      const reopenFirst = (error: unknown): never => {
        open = undefined;
        alertsBefore += o.dispatcher.alerts;
        deadLetteredBefore += o.dispatcher.deadLettered;
        throw error;
      };
      await writeAlertCheckpoint(path, checkpoint).catch(reopenFirst);
      o.checkpoint = checkpoint;
      crashPoint("alerts.outbox-written");
      // The journal's pairs are of the outbox just replaced (delivered): none of the new alerts.
      await o.journal.clear();
      await deliver(o, alerts).catch(reopenFirst);
      return { inserted, late };
    },

    async close() {
      if (open !== undefined) {
        alertsBefore += open.dispatcher.alerts;
        deadLetteredBefore += open.dispatcher.deadLettered;
        open = undefined;
      }
      await lock.release();
    },

    hold() {
      lock.hold();
    },

    async release() {
      lock.unhold();
      await store.close();
    },
  };
  return store;
}
