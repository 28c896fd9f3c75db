/**
 * The alert store refuses, in one line and before writing anything: a damaged checkpoint, another
 * account's or another identity's, one a live process holds (also between rounds, after hold), and a
 * webhook URL with user info (whose password the message never shows).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAlertStore } from "../../packages/cli/src/collector/alertStore.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { syncIdentity } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { tempDir } from "../cli/helpers.js";
import { alertsPlan } from "./alertFixtures.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

describe("refusals", () => {
  const open = (path: string, account = "prod", webhooks = ["http://127.0.0.1:9/hook"]) =>
    createAlertStore({
      path,
      account,
      destination: alertsPlan({ webhooks, stateDir: tmp.dir }),
      env: {},
      warn: () => undefined,
    });
  // No request is made: the client only names the log.
  const identity = () => {
    const c = new AuditLogClient({
      pat: "refusals-pat-0123456789abcdef",
      userId: "refuse",
      endpoint: "127.0.0.1:9",
      insecure: true,
    });
    const id = syncIdentity(c);
    c.close();
    return id;
  };

  it("held between rounds (hold), the lock stays until release", async () => {
    const path = join(tmp.dir, "hold.json");
    const first = open(path);
    first.hold?.();
    await first.open(identity());
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(true);
    expect(
      (
        (await open(path)
          .open(identity())
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toMatch(/another collector is delivering/);
    // The next round reopens with the lock it holds.
    await first.open(identity());
    await first.close();
    await first.release?.();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const second = open(path);
    await second.open(identity());
    await second.close();
  });

  it("a damaged checkpoint is refused in one line naming the file and the field; nothing is written", async () => {
    const path = join(tmp.dir, "damaged.json");
    writeFileSync(path, '{"kind":"clarifai-audit-alerts","schemaVersion":1,"account":"prod"}\n');
    const error = await open(path)
      .open(identity())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as Error).message).toMatch(new RegExp(`^${path}: .*nothing was changed`));
    expect((error as Error).message).not.toContain("\n");
    writeFileSync(path, "not json");
    expect(
      (
        (await open(path)
          .open(identity())
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toBe(`${path}: is not valid JSON; nothing was changed (a damaged alert checkpoint)`);
    expect(readFileSync(path, "utf8")).toBe("not json");
    expect(existsSync(`${path}.delivered`)).toBe(false);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("another account's checkpoint, another identity, a held lock, a webhook with user info: refused in one line", async () => {
    const path = join(tmp.dir, "held.json");
    const first = open(path);
    await first.open(identity());
    await first.commit({
      entries: [],
      state: {
        version: 1,
        identity: identity(),
        totals: { entries: 0, late: 0, runs: 0 },
        updatedAt: new Date().toISOString(),
      },
    });
    const second = await open(path)
      .open(identity())
      .catch((e: unknown) => e);
    expect((second as Error).message).toMatch(
      /^`store`: another collector is delivering alerts alerts \(account prod\) \(.*held\.json\.lock is locked by another process/,
    );
    await first.close();
    const before = readFileSync(path, "utf8");
    expect(
      (
        (await open(path, "staging")
          .open(identity())
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toBe(
      `${path} is the alert checkpoint of account prod for destination alerts, not of account staging for destination alerts; nothing was changed`,
    );
    const other = { ...identity(), query: { operations: [1] } };
    expect(
      (
        (await open(path)
          .open(other)
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toMatch(
      new RegExp(
        `^\`store\`: ${path} holds the log of user refuse at .* this collector asks for .*delete the checkpoint to start afresh$`,
      ),
    );
    const withUser = await open(path, "prod", ["http://me:hunter2-secret@127.0.0.1:9/hook"])
      .open(identity())
      .catch((e: unknown) => e);
    expect((withUser as Error).message).toMatch(
      /^collector\.yaml:7: destinations\[1\] \(alerts\): alert_webhook: .*user info/,
    );
    expect((withUser as Error).message).not.toContain("hunter2-secret");
    expect(readFileSync(path, "utf8")).toBe(before);
  });
});
