/**
 * Sends each alert to stdout and every destination, in order, skipping the (alert, destination)
 * pairs the journal records as done, and dead-lettering what cannot be delivered.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
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

/** Delivery of alerts to stdout and the destinations. */
export class Dispatcher {
  /** Alerts handed to {@link deliver}. */
  alerts = 0;
  /** (alert, destination) pairs written to the dead-letter file. */
  deadLettered = 0;

  constructor(
    private readonly out: Writable,
    private readonly format: AlertFormat,
    private readonly destinations: readonly Destination[],
    private readonly options: DeliveryOptions,
    private readonly deadLetter: DeadLetter,
    private readonly journal?: DeliveryJournal,
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** Delivers one alert everywhere (or dead-letters it); resolves when every destination is done. */
  async deliver(alert: Alert): Promise<void> {
    this.alerts++;
    const json = alertToJson(alert);
    const journal = this.journal;
    if (!journal?.has(alert.key, STDOUT)) {
      await put(this.out, `${this.format === "text" ? alertToText(alert) : json}\n`);
      await journal?.record(alert.key, STDOUT);
    }
    for (const dest of this.destinations) {
      if (journal?.has(alert.key, dest.name)) continue;
      const failure = await sendWithRetry(dest, alert, json, this.options);
      if (failure !== undefined) {
        await this.deadLetter.append(dest.name, failure, json);
        this.deadLettered++;
        this.warn(
          `clarifai-audit: watch: alert ${alert.key} (${alert.rule}) not delivered to ${dest.name} after ${failure.attempts} attempt(s): ${failure.error}; written to ${this.deadLetter.path}`,
        );
      }
      await journal?.record(alert.key, dest.name);
    }
  }
}
