/**
 * A full 1000-entry page larger than gRPC's usual 4 MiB receive limit (the client's default is 64 MiB).
 */
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { ServerError } from "../../packages/client/src/errors.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { type Harness, harness } from "./fixtures.js";

let h: Harness;

beforeAll(async () => {
  const details = ["x".repeat(6000)];
  const entries = generateEntries(1000, 7).map((e) => ({ ...e, details })) as AuditLogEntry[];
  h = await harness({ entries, dataFiles: [] });
});
afterAll(async () => {
  await h.close();
});

describe("message size", () => {
  it("receives a ~6 MB page of 1000 entries with the default channel options", async () => {
    const page = await h.client().search({ perPage: 1000 });
    expect(page.entries).toHaveLength(1000);
    expect(page.entries[999].details[0]).toHaveLength(6000);
  });

  it("reports an over-size reply as a ServerError, not a rate limit, and does not retry it", async () => {
    const client = h.client({ channelOptions: { "grpc.max_receive_message_length": 4 * 1024 * 1024 } });
    const before = h.emu.calls;
    const e = await client.search({ perPage: 1000 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ServerError);
    expect((e as ServerError).codeName).toBe("RPC_MAX_MESSAGE_SIZE_EXCEEDED");
    expect((e as ServerError).attempts).toBe(1);
    expect(h.emu.calls - before).toBe(1);
  });
});
