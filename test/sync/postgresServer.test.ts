/**
 * The PostgreSQL test helper itself: it must work wherever the checkout sits. As root the server runs
 * as the OS user `postgres`, which cannot enter a checkout under a folder only root may enter (a
 * `mktemp -d` folder, /root): the helper stages the binaries where that user can reach them, and a
 * server that still cannot start fails in one line at once instead of hanging the test file.
 */
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nativeFolder, startPostgres } from "../helpers/postgres.js";

const asRoot = process.getuid?.() === 0;

/** A folder only its owner may enter, as `mktemp -d` makes. */
function closedDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-closed-"));
  chmodSync(dir, 0o700);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test("runs from binaries under a folder only its owner may enter, and leaves nothing behind", async () => {
  const checkout = closedDir();
  const parent = mkdtempSync(join(tmpdir(), "clarifai-audit-parent-"));
  chmodSync(parent, 0o755);
  try {
    // The platform package's files as they would sit in a clone's node_modules under a 0700 folder.
    const native = join(checkout.dir, "node_modules", "native");
    cpSync(await nativeFolder(), native, { recursive: true, verbatimSymlinks: true });
    const server = await startPostgres({ native, parent });
    try {
      const c = await server.client();
      try {
        const { rows } = await c.query("select current_setting('server_encoding') as enc, 1 + 1 as two");
        expect(rows[0]).toEqual({ enc: "UTF8", two: 2 });
      } finally {
        await c.end();
      }
    } finally {
      await server.stop();
    }
    expect(readdirSync(parent)).toEqual([]);
  } finally {
    checkout.cleanup();
    rmSync(parent, { recursive: true, force: true });
  }
}, 120_000);

(asRoot ? test : test.skip)(
  "fails in one line, at once, when the server's OS user cannot enter the temp folder",
  async () => {
    const closed = closedDir();
    try {
      const err = await startPostgres({ parent: closed.dir }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toBe(
        `PostgreSQL for tests did not start: the OS user "postgres" cannot run ${err?.message.match(/cannot run (\S+)/)?.[1]} (EACCES): ${closed.dir} is closed to other users; point TMPDIR at a folder every user can enter`,
      );
      expect(err?.message).not.toContain("\n");
      // Its run folder is removed again.
      expect(readdirSync(closed.dir)).toEqual([]);
    } finally {
      closed.cleanup();
    }
  },
  // Well under the 90 s start budget: the spawn reports EACCES at once.
  30_000,
);
