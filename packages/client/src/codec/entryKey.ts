/**
 * The dedupe key of an entry object (packages/client/src/domain/entryKey.ts keys its canonical JSON line): here,
 * beside the codec that prints that line, so that the domain needs no codec.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { lineKey } from "../domain/entryKey.js";
import { entryToJsonLine } from "./index.js";

/**
 * The dedupe key of `entry`: {@link lineKey} of its canonical JSON line. Pass the line when it is
 * already at hand to avoid printing the entry twice.
 */
export function entryKey(entry: AuditLogEntry, line?: string): string {
  return lineKey(line ?? entryToJsonLine(entry));
}
