/**
 * `startEmulator`: the data, the fault controller and both transports, wired together.
 */
import type * as http from "node:http";
import type { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { logVerbosity, ServerCredentials, setLogVerbosity } from "@grpc/grpc-js";
import { streamEntriesFile } from "./dataFile.js";
import { FaultController } from "./faults.js";
import { EntryGenerator, generateEntryStream } from "./generate.js";
import { startGrpcServer, stopGrpcServer } from "./grpcServer.js";
import { checkKeys, DEFAULT_PATS, type EmulatorOptions, type FaultOptions, MAX_GENERATE } from "./options.js";
import { profileOf } from "./profiles.js";
import { RateLimiter, validateRateLimit } from "./rateLimit.js";
import { startRestServer, stopRestServer } from "./restServer.js";
import { Rng } from "./rng.js";
import { SearchService } from "./searchService.js";
import { AuditLog } from "./store.js";

/** A running emulator. */
export interface EmulatorHandle {
  /** `host:port` of the gRPC server, e.g. `"127.0.0.1:41234"`. */
  grpcAddress: string;
  /** Base URL of the REST server (`https://` with TLS), or undefined when REST is off. */
  restUrl: string | undefined;
  /** PAT → user id in use. */
  pats: Record<string, string>;
  /** Merges fault settings (validated; throws RangeError naming the bad field). */
  setFaults(f: Partial<FaultOptions>): void;
  /** Back to no faults (stops growth too). */
  resetFaults(): void;
  /** Appends entries to a user's log (default: the data user), late ones merged into place. */
  append(entries: AuditLogEntry[], userId?: string): void;
  /** Number of entries in a user's log (default: the data user). */
  size(userId?: string): number;
  /** Search calls served (gRPC + REST), including faulted and refused ones. */
  readonly calls: number;
  /** The rate limit in requests per second per account, or undefined when there is none. */
  readonly rateLimit: number | undefined;
  /** Sets (an integer 1-10000) or removes (undefined) the rate limit; its windows restart empty. */
  setRateLimit(limit: number | undefined): void;
  /** Calls throttled by the rate limit since start-up (not those of the throttling faults). */
  readonly rateLimited: number;
  /** The in-memory log of a user, for benchmarks that drive the store directly. */
  log(userId?: string): AuditLog | undefined;
  /** Stops both servers and the growth timer. */
  close(): Promise<void>;
}

const GENERATE_BATCH = 8192;

const EMULATOR_OPTION_KEYS: readonly (keyof EmulatorOptions)[] = [
  "host",
  "port",
  "restPort",
  "tls",
  "pats",
  "entries",
  "dataFiles",
  "generate",
  "dataUserId",
  "faults",
  "rateLimit",
  "profile",
];

function checkPort(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new RangeError(`${name} must be an integer port between 0 and 65535, got ${String(v)}`);
  }
}

/**
 * Loads the initial data of a log. Files are streamed into it batch by batch; a bad line rejects,
 * and the caller then discards the log (nothing is bound).
 */
async function loadData(log: AuditLog, options: EmulatorOptions): Promise<void> {
  if (options.generate) {
    const { count } = options.generate;
    if (!Number.isInteger(count) || count < 0 || count > MAX_GENERATE) {
      throw new RangeError(
        `generate.count must be an integer from 0 to ${MAX_GENERATE}, got ${String(count)}`,
      );
    }
  }
  if (options.entries) log.add(options.entries);
  for (const file of options.dataFiles ?? []) await streamEntriesFile(file, log);
  if (options.generate) {
    const { count, seed, startSeconds } = options.generate;
    let batch: AuditLogEntry[] = [];
    for (const e of generateEntryStream(
      count,
      seed,
      startSeconds === undefined ? undefined : { startSeconds },
    )) {
      batch.push(e);
      if (batch.length === GENERATE_BATCH) {
        log.add(batch);
        batch = [];
      }
    }
    log.add(batch);
  }
}

/** Appends growth batches: most after the newest entry, `lateFraction` inside the existing span. */
class Growth {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: AuditLog) {}

  set(g: FaultOptions["growth"], seed: number): void {
    this.stop();
    if (g === undefined) return;
    const gen = new EntryGenerator(seed);
    // Its own stream, so that the late/new split and late times are reproducible for a seed.
    const rng = new Rng(seed ^ 0x6a09e667);
    this.timer = setInterval(() => this.tick(gen, rng, g.count, g.lateFraction), g.everyMs);
    this.timer.unref();
  }

  private tick(gen: EntryGenerator, rng: Rng, count: number, lateFraction: number): void {
    const batch: AuditLogEntry[] = [];
    const span = this.log.span();
    while (batch.length < count) {
      if (span !== undefined && rng.chance(lateFraction)) {
        const a = span.first.seconds;
        const b = span.last.seconds;
        batch.push(...gen.at(a + rng.int(b - a + 1), b > a ? rng.int(1_000_000) : 0));
      } else {
        if (span !== undefined) gen.advanceTo(span.last);
        batch.push(...gen.next());
      }
    }
    this.log.add(batch.slice(0, count));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Silences grpc-js's own log lines (process-wide): the emulator's CLI reports every failure itself,
 * in one line.
 */
export function quietGrpcLogs(): void {
  setLogVerbosity(logVerbosity.NONE);
}

/**
 * Starts the emulator: gRPC (and REST unless `restPort: false`) on `host`, with the data loaded
 * into the data user's log. Resolves once both servers listen.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  checkKeys("startEmulator", options, EMULATOR_OPTION_KEYS);
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const restPort = options.restPort ?? 0;
  checkPort("port", port);
  if (restPort !== false) checkPort("restPort", restPort);
  const pats = { ...(options.pats ?? DEFAULT_PATS) };
  const patUsers = Object.values(pats);
  if (patUsers.length === 0) throw new RangeError("pats must map at least one PAT to a user id");
  for (const [pat, user] of Object.entries(pats)) {
    // The client's rule (packages/client/src/client/config.ts): a PAT it would never send is refused here too.
    if (!/^[\x21-\x7e]+$/.test(pat))
      throw new RangeError("pats: a PAT must be printable ASCII without spaces or control characters");
    if (user === "") throw new RangeError("pats: a user id must be non-empty");
  }
  const profile = options.profile === undefined ? undefined : profileOf(options.profile);
  const rate = new RateLimiter(validateRateLimit(options.rateLimit ?? profile?.rateLimit));
  const dataUserId = options.dataUserId ?? (patUsers[0] as string);
  const logs = new Map<string, AuditLog>();
  const logOf = (userId: string): AuditLog => {
    let log = logs.get(userId);
    if (log === undefined) {
      log = new AuditLog();
      logs.set(userId, log);
    }
    return log;
  };
  const dataLog = logOf(dataUserId);
  await loadData(dataLog, options);

  const faults = new FaultController();
  const growth = new Growth(dataLog);
  faults.onGrowthChange = (g, seed) => growth.set(g, seed);
  if (profile !== undefined || options.faults) faults.set({ ...profile?.faults, ...options.faults });
  const service = new SearchService(pats, logs, faults, rate);

  const creds = options.tls
    ? ServerCredentials.createSsl(
        null,
        [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }],
        false,
      )
    : ServerCredentials.createInsecure();
  const grpc = await startGrpcServer(service, host, port, creds).catch((e: unknown) => {
    growth.stop();
    throw e;
  });
  let rest: { server: http.Server; port: number } | undefined;
  if (restPort !== false) {
    try {
      rest = await startRestServer(service, host, restPort, options.tls);
    } catch (e) {
      growth.stop();
      await stopGrpcServer(grpc.server);
      throw e;
    }
  }
  const hostPart = host.includes(":") ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    grpcAddress: `${hostPart}:${grpc.port}`,
    restUrl: rest ? `${options.tls ? "https" : "http"}://${hostPart}:${rest.port}` : undefined,
    pats,
    setFaults: (f) => faults.set(f),
    resetFaults: () => faults.reset(),
    append: (entries, userId) => logOf(userId ?? dataUserId).add(entries),
    size: (userId) => logs.get(userId ?? dataUserId)?.size ?? 0,
    get calls() {
      return service.calls;
    },
    get rateLimit() {
      return rate.limit;
    },
    setRateLimit: (limit) => rate.set(limit),
    get rateLimited() {
      return rate.throttled;
    },
    log: (userId) => logs.get(userId ?? dataUserId),
    close: () => {
      closed ??= (async () => {
        growth.stop();
        await Promise.all([stopGrpcServer(grpc.server), rest ? stopRestServer(rest.server) : undefined]);
      })();
      return closed;
    },
  };
}
