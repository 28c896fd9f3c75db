import {
  type ExportBatch,
  type ExportCursor,
  type ExportSink,
  exportToSink,
} from "../../packages/client/src/export/index.js";
import { AuditLogClient } from "../../packages/client/src/index.js";

/** Keeps entries and cursor together, as a database would keep them in one transaction. */
class MemorySink implements ExportSink {
  lines: string[] = [];
  cursor: ExportCursor | undefined;
  async open(): Promise<ExportCursor | undefined> {
    return this.cursor; // undefined: a new walk; a cursor: resume right after it
  }
  async write(batch: ExportBatch): Promise<void> {
    // One atomic step: the batch's entries and the cursor that follows them.
    this.lines.push(...batch.entries.map((e) => e.json()));
    this.cursor = batch.cursor;
  }
  async close(): Promise<void> {}
}

export async function runExample(endpoint: string): Promise<string[]> {
  const client = new AuditLogClient({
    endpoint,
    insecure: true,
    pat: "emulator-pat",
    userId: "emulator-user",
  });
  const sink = new MemorySink();
  try {
    const summary = await exportToSink({ client, sink, settleMs: 0 });
    console.log(`${summary.entries} entries in ${summary.requests} requests`);
  } finally {
    client.close();
  }
  return sink.lines;
}
