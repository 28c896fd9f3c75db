/**
 * `startEmulator`: the data, the fault controller and both transports, wired together.
 */
import type * as http from "node:http";
import type { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { logVerbosity, ServerCredentials, setLogVerbosity } from "@grpc/grpc-js";
import { growthSeed, resolveAccounts } from "./accounts.js";
import { streamEntriesFile } from "./dataFile.js";
import { FaultController } from "./faults.js";
import { generateEntryStream } from "./generate.js";
import { Growth } from "./growth.js";
import { startGrpcServer, stopGrpcServer } from "./grpcServer.js";
import {
  checkKeys,
  type EmulatorOptions,
  type FaultOptions,
  type GenerateData,
  type GrowthOptions,
  MAX_GENERATE,
  validateGrowth,
} from "./options.js";
import { profileOf } from "./profiles.js";
import { RateLimiter, validateRateLimit } from "./rateLimit.js";
import { startRestServer, stopRestServer } from "./restServer.js";
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
  /** The user ids of `accounts`, in order (empty without `accounts`). */
  readonly accounts: readonly string[];
  /**
   * Sets (validated) or stops (undefined) the growth of an account's log, whatever `accounts` said
   * at start-up; `seed` defaults to the account's default growth seed. The data user's `growth`
   * fault is separate (setFaults/resetFaults).
   */
  setGrowth(userId: string, growth: (GrowthOptions & { seed?: number }) | undefined): void;
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
  "accounts",
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
async function loadData(
  log: AuditLog,
  options: { entries?: AuditLogEntry[]; dataFiles?: string[]; generate?: GenerateData },
  what = "generate",
): Promise<void> {
  if (options.generate) {
    const { count } = options.generate;
    if (!Number.isInteger(count) || count < 0 || count > MAX_GENERATE) {
      throw new RangeError(
        `${what}.count must be an integer from 0 to ${MAX_GENERATE}, got ${String(count)}`,
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
  const { pats, accounts } = resolveAccounts(options);
  const patUsers = Object.values(pats);
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
  for (const [i, a] of accounts.entries()) await loadData(logOf(a.userId), a, `accounts[${i}].generate`);
  const accountGrowth = new Map<string, Growth>();
  const setGrowth = (userId: string, g: (GrowthOptions & { seed?: number }) | undefined): void => {
    if (g !== undefined) validateGrowth(`growth of ${userId}`, g, ["seed"]);
    let growth = accountGrowth.get(userId);
    if (growth === undefined) {
      if (g === undefined) return;
      growth = new Growth(logOf(userId));
      accountGrowth.set(userId, growth);
    }
    if (g === undefined) {
      growth.stop();
      return;
    }
    const index = accounts.findIndex((a) => a.userId === userId);
    const { seed, ...settings } = g;
    growth.set(settings, growthSeed(seed, index < 0 ? accounts.length : index));
  };
  const stopGrowth = () => {
    growth.stop();
    for (const g of accountGrowth.values()) g.stop();
  };

  const faults = new FaultController();
  const growth = new Growth(dataLog);
  faults.onGrowthChange = (g, seed) => growth.set(g, seed);
  if (profile !== undefined || options.faults) faults.set({ ...profile?.faults, ...options.faults });
  for (const a of accounts) if (a.growth !== undefined) setGrowth(a.userId, a.growth);
  const service = new SearchService(pats, logs, faults, rate);

  const creds = options.tls
    ? ServerCredentials.createSsl(
        null,
        [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }],
        false,
      )
    : ServerCredentials.createInsecure();
  const grpc = await startGrpcServer(service, host, port, creds).catch((e: unknown) => {
    stopGrowth();
    throw e;
  });
  let rest: { server: http.Server; port: number } | undefined;
  if (restPort !== false) {
    try {
      rest = await startRestServer(service, host, restPort, options.tls);
    } catch (e) {
      stopGrowth();
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
    accounts: accounts.map((a) => a.userId),
    setGrowth,
    log: (userId) => logs.get(userId ?? dataUserId),
    close: () => {
      closed ??= (async () => {
        stopGrowth();
        await Promise.all([stopGrpcServer(grpc.server), rest ? stopRestServer(rest.server) : undefined]);
      })();
      return closed;
    },
  };
}
