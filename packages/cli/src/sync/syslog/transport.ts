/**
 * RFC 5424 messages over TCP (or TLS), octet-counted (RFC 6587). Syslog has no application
 * acknowledgement; what confirms a batch depends on `confirm` (the URL's parameter):
 *
 * - `close` (the default): each batch goes over a connection of its own, which this side ends once
 *   every byte was handed to the kernel; the batch is confirmed when the receiver closes the
 *   connection in turn. A receiver sees the end of the stream only after it has read every byte
 *   before it, so its close says it read the whole batch (into its own queue: what it does with it
 *   then is its own durability, e.g. rsyslog's disk-assisted queues). A receiver that dies, is
 *   killed or stops reading before that resets the connection or never closes it (`closeTimeoutMs`):
 *   the batch is not confirmed and is sent again. The one window left: a receiver that closes the
 *   connection on its own (an idle timeout) at the very instant the batch's last bytes are in
 *   flight towards it.
 * - `write`: one connection kept open; a batch is confirmed once every byte of it was handed to the
 *   kernel on a connection that, by then, had seen neither an error nor the receiver closing it
 *   (checked again before each batch, so a receiver that restarted while the connection sat idle is
 *   noticed before a byte is written to a dead connection). Not guaranteed: a receiver that dies
 *   with bytes it had received but not read (TCP acknowledged them, this side cannot know) loses
 *   them, at most the socket buffers' worth (a few MB). For receivers that do not close a
 *   connection at its end of stream.
 *
 * Either way, on a dropped or refused connection the transport reconnects with backoff and sends the
 * whole unconfirmed batch again (repeats of its first messages are the price).
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
  /** `confirm=close`: the receiver's close awaited this long after ours (default 30 000). */
  closeTimeoutMs?: number;
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
  /** This side ended it (`confirm=close`): the receiver's end that follows is its answer. */
  ending?: boolean;
  /** The receiver ended it after this side did. */
  answered?: boolean;
  /** Called when it closed cleanly after {@link answered}. */
  onClosed?: () => void;
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
  const closeTimeoutMs = o.closeTimeoutMs ?? 30_000;
  const perBatch = target.confirm === "close";
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
        socket.on("end", () => {
          if (c.ending) c.answered = true;
          else broke(new Error("the receiver closed the connection"));
        });
        socket.on("close", () => {
          if (c.answered && c.broken === undefined) c.onClosed?.();
          else broke(new Error("the connection closed"));
        });
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

  /** `confirm=close`: ends the connection and resolves once the receiver closed it in turn (module comment). */
  function endAndConfirm(c: Connection): Promise<void> {
    return new Promise((resolve, reject) => {
      if (c.broken !== undefined) return reject(c.broken);
      const timer = setTimeout(
        () =>
          c.socket.destroy(
            new Error(
              `the receiver did not close the connection within ${closeTimeoutMs} ms of this side's end (a receiver that keeps it open needs confirm=write)`,
            ),
          ),
        closeTimeoutMs,
      );
      c.onBreak = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      c.onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      c.ending = true;
      c.socket.end();
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
          if (perBatch) {
            conn = undefined;
            await endAndConfirm(c);
          }
          return;
        } catch (error) {
          c.socket.destroy();
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
