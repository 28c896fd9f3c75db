/**
 * The naive exporter a user of the official package would write: page through
 * PostAuditLogSearches with `ClarifaiStub.grpc()` and write `JSON.stringify(entry)` per line.
 * Run as a child process by the end-to-end bench:
 *   CLARIFAI_GRPC_BASE=host:port GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=ca.pem \
 *   node dist/bench/naiveOfficial.js OUT_FILE USER_ID PAT
 * Prints one JSON line: {"entries": n, "pages": p, "maxRssKb": k}.
 */
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { ClarifaiStub, grpc } = require("clarifai-nodejs-grpc") as {
  ClarifaiStub: {
    grpc(): Record<string, (req: object, md: object, cb: (e: Error | null, r: Reply) => void) => void>;
  };
  grpc: { Metadata: new () => { set(k: string, v: string): void } };
};

interface Reply {
  status: { code: number; description: string };
  entries: unknown[];
}

async function main(): Promise<void> {
  const [out, userId, pat] = process.argv.slice(2) as [string, string, string];
  const stub = ClarifaiStub.grpc();
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Key ${pat}`);
  const file = createWriteStream(out);
  const perPage = 1000;
  let entries = 0;
  let pages = 0;
  for (let page = 1; ; page++) {
    const reply = await new Promise<Reply>((resolve, reject) => {
      stub.PostAuditLogSearches?.(
        { user_app_id: { user_id: userId }, pagination: { page, per_page: perPage } },
        metadata,
        (err, r) => (err ? reject(err) : resolve(r)),
      );
    });
    if (reply.status.code !== 10000)
      throw new Error(`status ${reply.status.code}: ${reply.status.description}`);
    pages++;
    let chunk = "";
    for (const e of reply.entries) chunk += `${JSON.stringify(e)}\n`;
    entries += reply.entries.length;
    if (!file.write(chunk)) await new Promise<void>((r) => file.once("drain", () => r()));
    if (reply.entries.length < perPage) break;
  }
  await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
  process.stdout.write(`${JSON.stringify({ entries, pages, maxRssKb: process.resourceUsage().maxRSS })}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`naiveOfficial: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
