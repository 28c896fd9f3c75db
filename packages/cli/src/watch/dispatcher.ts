/**
 * Sends each alert to stdout (`watch`; the collector has none) and every destination, skipping the
 * (alert, destination) pairs the journal records as done, and dead-lettering what cannot be
 * delivered. Each destination (stdout is one) has its own queue: alerts reach one destination in
 * the order they were handed over, and a slow or failing destination does not hold up the others.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { type Alert, alertToJson, alertToText } from "./alert.js";
import {
  type DeadLetter,
  type DeliveryJournal,
  type DeliveryOptions,
  type Destination,
  sendWithRetry,
} from "./destinations.js";

/** Alert output formats on stdout. */
export type AlertFormat = "jsonl" | "text";

/** Name of stdout in the journal. */
const STDOUT = "stdout";

/** Writes `text`, waiting for 'drain' when the stream asks to. */
export async function put(out: Writable, text: string): Promise<void> {
  if (text.length > 0 && !out.write(text)) await once(out, "drain");
}

/** What a {@link Dispatcher} says besides delivering. */
export interface DispatcherHooks {
  /** Names the sender in warnings (default "watch"). */
  label?: string;
  /** After each (alert, destination) outcome of this process: delivered, or dead-lettered (stdout excluded). */
  onOutcome?: (destination: string, delivered: boolean) => void;
  /**
   * A pair whose delivery the signal ended (rather than its attempts) is neither dead-lettered nor
   * journalled: `deliver` rejects with {@link DeliveryInterruptedError} and the caller keeps the
   * alert to send again (the collector's alert store: its outbox, delivered at the next open, by
   * this process or the account's next owner). Default: dead-lettered, as `watch` does.
   */
  keepInterrupted?: boolean;
}

/** A delivery ended by the signal and kept for later (see {@link DispatcherHooks.keepInterrupted}). */
export class DeliveryInterruptedError extends ClarifaiAuditError {
  override name = "DeliveryInterruptedError";
  constructor(key: string, destination: string) {
    super(`alert ${key} to ${destination}: interrupted before an answer; kept to be delivered again`);
  }
}

/** Delivery of alerts to stdout and the destinations. */
export class Dispatcher {
  /** Alerts handed to {@link deliver}. */
  alerts = 0;
  /** (alert, destination) pairs written to the dead-letter file. */
  deadLettered = 0;
  /** Per destination name, the end of its queue. */
  private readonly queues = new Map<string, Promise<void>>();
  /**
   * The journal and the dead-letter file are appended to by every queue: one append at a time, so
   * that concurrent lines cannot interleave.
   */
  private appends: Promise<void> = Promise.resolve();

  /**
   * @param out stdout, or undefined for none (the collector's alert store delivers to its
   * destinations only).
   */
  constructor(
    private readonly out: Writable | undefined,
    private readonly format: AlertFormat,
    private readonly destinations: readonly Destination[],
    private readonly options: DeliveryOptions,
    private readonly deadLetter: DeadLetter,
    private readonly journal?: DeliveryJournal,
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly hooks: DispatcherHooks = {},
  ) {}

  /**
   * Queues one alert for every destination (synchronously, so the order of calls is the order each
   * destination sees); resolves when every destination is done with it (delivered or dead-lettered).
   */
  deliver(alert: Alert): Promise<void> {
    this.alerts++;
    const json = alertToJson(alert);
    const out = this.out;
    const jobs = [
      ...(out === undefined
        ? []
        : [
            this.enqueue(STDOUT, alert.key, () =>
              put(out, `${this.format === "text" ? alertToText(alert) : json}\n`),
            ),
          ]),
      ...this.destinations.map((dest) =>
        this.enqueue(dest.name, alert.key, async () => {
          const failure = await sendWithRetry(dest, alert, json, this.options);
          if (failure !== undefined && this.hooks.keepInterrupted && this.options.signal?.aborted)
            throw new DeliveryInterruptedError(alert.key, dest.name);
          this.hooks.onOutcome?.(dest.name, failure === undefined);
          if (failure === undefined) return;
          await this.append(() => this.deadLetter.append(dest.name, failure, json));
          this.deadLettered++;
          this.warn(
            `clarifai-audit: warning: ${this.hooks.label ?? "watch"}: alert ${alert.key} (${alert.rule}) not delivered to ${dest.name} after ${failure.attempts} attempt(s): ${failure.error}; written to ${this.deadLetter.path}`,
          );
        }),
      ),
    ];
    return Promise.all(jobs).then(() => undefined);
  }

  /** Puts `send` of alert `key` at the end of destination `dest`'s queue (skipped when the journal has it). */
  private enqueue(dest: string, key: string, send: () => Promise<void>): Promise<void> {
    const journal = this.journal;
    const run = async (): Promise<void> => {
      if (journal?.has(key, dest)) return;
      await send();
      if (journal) await this.append(() => journal.record(key, dest));
    };
    // A failure (an I/O error of the journal, say) rejects this alert's delivery, not the queue.
    const done = (this.queues.get(dest) ?? Promise.resolve()).then(run);
    this.queues.set(
      dest,
      done.catch(() => undefined),
    );
    return done;
  }

  private append(write: () => Promise<void>): Promise<void> {
    const done = this.appends.then(write);
    this.appends = done.catch(() => undefined);
    return done;
  }
}
