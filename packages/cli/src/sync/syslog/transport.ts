/**
 * RFC 5424 messages over one TCP (or TLS) connection, octet-counted (RFC 6587).
 *
 * What "confirmed" means (syslog over TCP has no application acknowledgement): a batch is confirmed
 * once every byte of it was handed to the kernel (each write's callback) on a connection that, by
 * then, had seen neither an error nor the receiver closing it (a FIN or a reset: syslog receivers
 * never send data, so anything read is taken as a close). Before a batch is written the same is
 * checked, so a receiver that restarted while the connection sat idle is noticed before a byte is
 * lost in a dead socket. On a dropped or refused connection the transport reconnects with backoff
 * and writes the whole unconfirmed batch again (repeats of its first messages are the price).
 *
 * What is NOT guaranteed: a receiver that dies (a crash, a kill, a reboot) with bytes it had
 * received but not yet read loses them, and this side cannot know: the bytes sit in the receiver's
 * socket buffer, which TCP acknowledged. Only the last batch confirmed before such a death is
 * exposed, at most the socket buffers' worth (a few MB on Linux). A receiver stopped or restarted
 * gracefully reads before it closes (rsyslog does), and a receiver that is unreachable makes the
 * batch fail and be sent again. RELP or HEC with indexer acknowledgement close this gap; plain TCP
 * syslog cannot.
 *
 * TLS (syslog+tls): Node's certificate checks, always on: the chain to Node's roots or to `ca`, the
 * host name (SNI and the check use the URL's host).
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { DeliveryMessage, DeliveryTransport } from "../delivery/deliveryStore.js";
import { tlsRefusal } from "../delivery/tlsTrust.js";
import { SyncUsageError } from "../store.js";
import { octetFrame, type SyslogHeader, syslogHostname, syslogMessage } from "./rfc5424.js";
import type { SyslogTarget } from "./url.js";

/** Options of {@link syslogTransport}. */
export interface SyslogTransportOptions {
  /** PEM certificates to trust instead of Node's (syslog+tls). */
  ca?: Buffer;
  /** The collector's account, put in each message's structured data. */
  account?: string;
  /** Connect (TCP and TLS handshake) time limit, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** A batch's writes not drained by the receiver in this long fail (default 120 000). */
  writeTimeoutMs?: number;
  /** Attempts of a batch (default 8) and the first delay between them, ms (default 250; doubling, at most 5 s). */
  attempts?: number;
  backoffMs?: number;
}

/** Bytes per write: large enough to keep the socket busy, small enough to bound a string's size. */
const CHUNK_CHARS = 1 << 20;

/** One connection and what happened to it. */
interface Connection {
  socket: Socket;
  /** Set once it errored or the receiver closed it: nothing more is confirmed on it. */
  broken?: Error;
  /** Called when it breaks (the write in progress fails). */
  onBreak?: (error: Error) => void;
}

/** The syslog transport of `target` (see the module comment). */
export function syslogTransport(target: SyslogTarget, o: SyslogTransportOptions = {}): DeliveryTransport {
  const header: SyslogHeader = {
    facility: target.facility,
    hostname: syslogHostname(),
    procId: String(process.pid),
    ...(o.account !== undefined ? { account: o.account } : {}),
    maxMessage: target.maxMessage,
  };
  const description = target.description;
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
  const writeTimeoutMs = o.writeTimeoutMs ?? 120_000;
  const attempts = o.attempts ?? 8;
  const backoffMs = o.backoffMs ?? 250;
  let conn: Connection | undefined;

  /** Opens a connection; rejects with the socket's error (a TLS refusal as SyncUsageError). */
  function open(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = target.tls
        ? tlsConnect({
            host: target.host,
            port: target.port,
            // SNI takes a name, not an address; the certificate check takes either.
            ...(/^[0-9.]+$|:/.test(target.host) ? {} : { servername: target.host }),
            ...(o.ca !== undefined ? { ca: o.ca } : {}),
            rejectUnauthorized: true,
            minVersion: "TLSv1.2",
          })
        : netConnect({ host: target.host, port: target.port });
      const c: Connection = { socket };
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(tlsRefusal(description, error) ?? error);
      };
      socket.once("error", fail);
      socket.once(target.tls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        socket.off("error", fail);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        const broke = (error: Error) => {
          c.broken ??= error;
          c.onBreak?.(c.broken);
        };
        socket.on("error", broke);
        // A receiver sends nothing: data or an end means it closed (or is about to).
        socket.on("data", () => broke(new Error("the receiver sent data (it is closing the connection)")));
        socket.on("end", () => broke(new Error("the receiver closed the connection")));
        socket.on("close", () => broke(new Error("the connection closed")));
        resolve(c);
      });
    });
  }

  /** Writes `chunks` with backpressure; resolves once all are in the kernel and the connection is whole. */
  function writeAll(c: Connection, chunks: readonly string[], signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (error?: Error) => {
        clearTimeout(timer);
        c.onBreak = undefined;
        signal?.removeEventListener("abort", abort);
        if (error !== undefined) reject(error);
        else resolve();
      };
      const abort = () => {
        c.socket.destroy();
        done(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      if (c.broken !== undefined) return done(c.broken);
      if (signal?.aborted) return abort();
      signal?.addEventListener("abort", abort, { once: true });
      c.onBreak = done;
      const stall = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => c.socket.destroy(new Error(`the receiver read nothing for ${writeTimeoutMs} ms`)),
          writeTimeoutMs,
        );
      };
      let i = 0;
      const next = (): void => {
        while (i < chunks.length) {
          const chunk = chunks[i++] as string;
          const last = i === chunks.length;
          stall();
          const room = c.socket.write(
            chunk,
            "utf8",
            last
              ? (error) => {
                  if (error) return done(error);
                  // Events already received (a reset, an end) are seen before the batch is confirmed.
                  setImmediate(() => done(c.broken));
                }
              : undefined,
          );
          if (!room && !last) {
            c.socket.once("drain", next);
            return;
          }
        }
      };
      next();
    });
  }

  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });

  function drop(): void {
    conn?.socket.destroy();
    conn = undefined;
  }

  /** Connects (again), retrying a transient failure with backoff; a refusal is thrown at once. */
  async function connected(signal?: AbortSignal): Promise<Connection> {
    let delay = backoffMs;
    for (let attempt = 1; ; attempt++) {
      if (conn !== undefined && conn.broken === undefined) return conn;
      drop();
      try {
        conn = await open();
        return conn;
      } catch (error) {
        if (error instanceof SyncUsageError || attempt >= attempts || signal?.aborted)
          throw unreachable(error, attempt);
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  function unreachable(error: unknown, tries: number): Error {
    if (error instanceof SyncUsageError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    return new Error(
      `${description}: unreachable after ${tries} attempt${tries === 1 ? "" : "s"} (${code ?? (error as Error).message}); nothing more was marked delivered`,
    );
  }

  return {
    description,

    async connect() {
      await connected();
    },

    async send(messages, signal) {
      const chunks: string[] = [];
      let chunk = "";
      for (const m of messages as readonly DeliveryMessage[]) {
        chunk += octetFrame(syslogMessage(m, header));
        if (chunk.length >= CHUNK_CHARS) {
          chunks.push(chunk);
          chunk = "";
        }
      }
      if (chunk !== "") chunks.push(chunk);
      let delay = backoffMs;
      for (let attempt = 1; ; attempt++) {
        const c = await connected(signal);
        try {
          await writeAll(c, chunks, signal);
          return;
        } catch (error) {
          drop();
          if (signal?.aborted) throw error;
          if (attempt >= attempts) throw unreachable(error, attempt);
        }
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 5000);
      }
    },

    async close() {
      const c = conn;
      conn = undefined;
      if (c === undefined) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        c.socket.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
      c.socket.destroy();
    },
  };
}
