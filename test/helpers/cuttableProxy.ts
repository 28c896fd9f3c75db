/**
 * A TCP proxy on 127.0.0.1 whose link can be cut and restored, as a network partition or a
 * database outage does to a client: while cut, every open connection is reset and each new one is
 * reset as soon as it is accepted (the client sees ECONNRESET at once, not a hang).
 */
import { connect, createServer, type Socket } from "node:net";

/** A running proxy. */
export interface CuttableProxy {
  port: number;
  /** Whether the link is cut now. */
  readonly cut: boolean;
  /** Resets every connection and refuses new ones until {@link restore}. */
  cutOff(): void;
  restore(): void;
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Starts a proxy to `host:port` on an ephemeral loopback port. */
export async function startCuttableProxy(host: string, port: number): Promise<CuttableProxy> {
  let cut = false;
  let accepted = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    accepted++;
    if (cut) return void client.resetAndDestroy();
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy: no port");
  return {
    port: address.port,
    get cut() {
      return cut;
    },
    get accepted() {
      return accepted;
    },
    cutOff() {
      cut = true;
      for (const s of open) s.resetAndDestroy();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
