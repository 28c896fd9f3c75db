/**
 * TLS is the default transport: against the emulator serving TLS with a throwaway CA.
 */
import { rmSync } from "node:fs";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { CLOSED_PLAINTEXT_MESSAGE, UnavailableError } from "../../packages/client/src/errors.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { EXTRA_ENTRIES, PAT } from "./fixtures.js";

let tls: TestTls;
let emu: EmulatorHandle;
let port: string;
const clients: AuditLogClient[] = [];

beforeAll(async () => {
  tls = makeTestTls();
  emu = await startEmulator({
    pats: { [PAT]: "alfrick" },
    entries: EXTRA_ENTRIES,
    restPort: false,
    tls: { cert: tls.cert, key: tls.key },
  });
  port = emu.grpcAddress.split(":").pop() as string;
});
afterAll(async () => {
  for (const c of clients) c.close();
  await emu.close();
  rmSync(tls.dir, { recursive: true, force: true });
});

function client(options: ConstructorParameters<typeof AuditLogClient>[0]): AuditLogClient {
  const c = new AuditLogClient({ pat: PAT, userId: "alfrick", retry: false, ...options });
  clients.push(c);
  return c;
}

describe("TLS", () => {
  it("searches over TLS, trusting a custom CA", async () => {
    const page = await client({ endpoint: `localhost:${port}`, rootCerts: tls.ca }).search();
    expect(page.entries).toHaveLength(EXTRA_ENTRIES.length);
    expect(client({ endpoint: `localhost:${port}`, rootCerts: tls.ca }).insecure).toBe(false);
  });

  it("refuses a server certificate it cannot verify", async () => {
    const err = await client({ endpoint: `localhost:${port}`, retry: {} })
      .search()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).message).toContain("certificate");
    // Not retried: an unverifiable certificate does not become valid.
    expect((err as UnavailableError).retryable).toBe(false);
    expect((err as UnavailableError).attempts).toBe(1);
  });

  it("plaintext against a TLS server fails rather than downgrading", async () => {
    const err = await client({ endpoint: `127.0.0.1:${port}`, insecure: true })
      .search()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    // Said in words that name the cause, not grpc-js's "Failed to connect".
    expect((err as UnavailableError).description).toBe(CLOSED_PLAINTEXT_MESSAGE);
  });

  it("a refused connection is not mistaken for a TLS server", async () => {
    const err = await client({ endpoint: "127.0.0.1:1", insecure: true })
      .search()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).description).toMatch(/ECONNREFUSED/);
  });
});
