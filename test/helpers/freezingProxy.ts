/**
 * A TCP proxy on 127.0.0.1 that can freeze a connection the way a SIGSTOPped client freezes it: the
 * server sees no more bytes from the client and the client sees none of the server's (a close by
 * the server included) until the proxy thaws. In-process tests use it to pause a database client in
 * the middle of a transaction without pausing the test itself.
 */
import { connect, createServer, type Socket } from "node:net";

/** A running proxy. */
export interface FreezingProxy {
  port: number;
  /**
   * Freezes the next connection whose client sends `marker` (e.g. the SQL of a statement), once the
   * server has answered it: the statement has run, and the client has not seen its answer.
   */
  freezeAfter(marker: string): void;
  /** Whether a connection is frozen now. */
  readonly frozen: boolean;
  /** Passes on what was held, and the server's close if it closed meanwhile. */
  thaw(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** The marker was sent; freeze at the server's next bytes. */
  marked: boolean;
  frozen: boolean;
  toClient: Buffer[];
  toServer: Buffer[];
  upstreamClosed: boolean;
}

/** Starts a proxy to `host:port` on an ephemeral loopback port. */
export async function startFreezingProxy(host: string, port: number): Promise<FreezingProxy> {
  let marker: string | undefined;
  const pairs = new Set<Pair>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    const p: Pair = {
      client,
      upstream,
      marked: false,
      frozen: false,
      toClient: [],
      toServer: [],
      upstreamClosed: false,
    };
    pairs.add(p);
    client.on("data", (b: Buffer) => {
      if (p.frozen) return void p.toServer.push(b);
      if (marker !== undefined && b.includes(marker)) {
        marker = undefined;
        p.marked = true;
      }
      upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      if (p.marked) {
        p.marked = false;
        p.frozen = true;
      }
      if (p.frozen) return void p.toClient.push(b);
      client.write(b);
    });
    const closeUpstream = () => {
      p.upstreamClosed = true;
      if (!p.frozen) client.end();
    };
    upstream.on("close", closeUpstream);
    upstream.on("error", closeUpstream);
    client.on("error", () => upstream.destroy());
    client.on("close", () => {
      upstream.destroy();
      pairs.delete(p);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("proxy has no port");
  return {
    port: address.port,
    freezeAfter(m) {
      marker = m;
    },
    get frozen() {
      return [...pairs].some((p) => p.frozen);
    },
    thaw() {
      for (const p of pairs) {
        if (!p.frozen) continue;
        p.frozen = false;
        for (const b of p.toClient.splice(0)) p.client.write(b);
        // end, not destroy: the held bytes are flushed before the close.
        if (p.upstreamClosed) p.client.end();
        else for (const b of p.toServer.splice(0)) p.upstream.write(b);
      }
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
