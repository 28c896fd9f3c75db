/**
 * `clarifai-audit emulator`: runs the emulator until SIGINT/SIGTERM. Once both servers listen it
 * prints exactly one JSON line on stdout — `{"grpc":…,"rest":…,"pats":{…}}` — so scripts and tests
 * can read the ephemeral ports. The PATs printed are the emulator's own test tokens.
 */
import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { EmulatorOptions, FaultOptions } from "./options.js";
import type { EmulatorHandle } from "./server.js";

function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}, got '${v}'.`);
    }
    return Number(v);
  };
}

function numberArg(name: string, max = Number.MAX_VALUE) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > max) {
      throw new InvalidArgumentError(`${name} must be a number between 0 and ${max}, got '${v}'.`);
    }
    return n;
  };
}

function seedArg(v: string): number {
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new InvalidArgumentError(`must be an integer, got '${v}'.`);
  }
  return Number(v);
}

function patArg(v: string, prev: Record<string, string> | undefined): Record<string, string> {
  const eq = v.indexOf("=");
  if (eq <= 0 || eq === v.length - 1 || /\s/.test(v)) {
    throw new InvalidArgumentError("expected TOKEN=USER_ID with a non-empty token and user id, no spaces.");
  }
  return { ...(prev ?? {}), [v.slice(0, eq)]: v.slice(eq + 1) };
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

interface Flags {
  host: string;
  port: number;
  restPort: number;
  rest: boolean;
  tlsCert?: string;
  tlsKey?: string;
  pat?: Record<string, string>;
  data?: string[];
  generate?: number;
  seed: number;
  dataUser?: string;
  latencyMs?: number;
  jitterMs?: number;
  throttleEvery?: number;
  throttleProbability?: number;
  throttleBurst?: number;
  throttleAboveInFlight?: number;
  unavailableEvery?: number;
  unavailableProbability?: number;
  unavailableBurst?: number;
  dropConnectionEvery?: number;
  growthCount?: number;
  growthEveryMs?: number;
  growthLateFraction?: number;
  faultSeed?: number;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`${flag} ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Flags → options; throws an Error with a one-line message on inconsistent flags. */
function emulatorOptionsFromFlags(f: Flags): EmulatorOptions {
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) {
    throw new Error("--tls-cert and --tls-key go together; give both or neither");
  }
  if ((f.growthCount === undefined) !== (f.growthEveryMs === undefined)) {
    throw new Error("--growth-count and --growth-every-ms go together; give both or neither");
  }
  if (f.growthLateFraction !== undefined && f.growthCount === undefined) {
    throw new Error("--growth-late-fraction needs --growth-count and --growth-every-ms");
  }
  const faults: Partial<FaultOptions> = {};
  const copy = <K extends keyof FaultOptions & keyof Flags>(k: K) => {
    if (f[k] !== undefined) (faults as Record<string, unknown>)[k] = f[k];
  };
  for (const k of [
    "latencyMs",
    "jitterMs",
    "throttleEvery",
    "throttleProbability",
    "throttleBurst",
    "throttleAboveInFlight",
    "unavailableEvery",
    "unavailableProbability",
    "unavailableBurst",
    "dropConnectionEvery",
  ] as const) {
    copy(k);
  }
  if (f.faultSeed !== undefined) faults.seed = f.faultSeed;
  if (f.growthCount !== undefined && f.growthEveryMs !== undefined) {
    faults.growth = {
      count: f.growthCount,
      everyMs: f.growthEveryMs,
      lateFraction: f.growthLateFraction ?? 0,
    };
  }
  return {
    host: f.host,
    port: f.port,
    restPort: f.rest ? f.restPort : false,
    tls:
      f.tlsCert !== undefined && f.tlsKey !== undefined
        ? { cert: readPem("--tls-cert", f.tlsCert), key: readPem("--tls-key", f.tlsKey) }
        : undefined,
    pats: f.pat,
    dataFiles: f.data,
    generate: f.generate !== undefined ? { count: f.generate, seed: f.seed } : undefined,
    dataUserId: f.dataUser,
    faults,
  };
}

async function run(flags: Flags): Promise<void> {
  let handle: EmulatorHandle;
  try {
    const options = emulatorOptionsFromFlags(flags);
    // Loaded here, not at import: the CLI declares this command on every start.
    const { startEmulator } = await import("./server.js");
    handle = await startEmulator(options);
  } catch (e) {
    process.stderr.write(`clarifai-audit emulator: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
    return;
  }
  // Handlers go in before the ready line: whoever reads it may signal at once, and a signal that
  // finds no handler kills the process without the clean shutdown.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stdout.write(
    `${JSON.stringify({ grpc: handle.grpcAddress, rest: handle.restUrl ?? null, pats: handle.pats })}\n`,
  );
  process.stderr.write(`clarifai-audit emulator: serving ${handle.size()} entries; Ctrl-C to stop\n`);
  const signal = await stopped;
  process.stderr.write(`clarifai-audit emulator: ${signal}, shutting down\n`);
  await handle.close();
}

/** Registers `emulator` on the CLI program. */
export function registerEmulatorCommand(program: Command): void {
  program
    .command("emulator")
    .description("Run a local audit-log server (gRPC + REST) for offline development and tests.")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--port <port>", "gRPC port (0 = ephemeral)", intArg("--port", 0, 65535), 0)
    .option("--rest-port <port>", "REST port (0 = ephemeral)", intArg("--rest-port", 0, 65535), 0)
    .option("--no-rest", "do not start the REST server")
    .option("--tls-cert <file>", "PEM certificate chain (enables TLS on gRPC and https on REST)")
    .option("--tls-key <file>", "PEM private key")
    .option("--pat <token=user_id>", "accept PAT TOKEN for user USER_ID (repeatable)", patArg)
    .option("--data <file>", "JSONL file of entries (REST JSON form) to load (repeatable)", collect)
    .option("--generate <n>", "generate N synthetic entries", intArg("--generate", 0))
    .option("--seed <s>", "seed of --generate", seedArg, 1)
    .option("--data-user <user_id>", "whose audit log the data goes to (default: the first PAT's user)")
    .addOption(new Option("--latency-ms <ms>", "fixed delay per call").argParser(numberArg("--latency-ms")))
    .addOption(
      new Option("--jitter-ms <ms>", "extra random delay per call").argParser(numberArg("--jitter-ms")),
    )
    .addOption(
      new Option("--throttle-every <n>", "throttle every Nth call (status 11005)").argParser(
        intArg("--throttle-every", 0),
      ),
    )
    .addOption(
      new Option("--throttle-probability <p>", "throttle each call with probability p").argParser(
        numberArg("--throttle-probability", 1),
      ),
    )
    .addOption(
      new Option("--throttle-burst <k>", "throttle the first K calls").argParser(
        intArg("--throttle-burst", 0),
      ),
    )
    .addOption(
      new Option(
        "--throttle-above-in-flight <n>",
        "throttle calls arriving while N calls are being served (a concurrency limit)",
      ).argParser(intArg("--throttle-above-in-flight", 0)),
    )
    .addOption(
      new Option("--unavailable-every <n>", "fail every Nth call with gRPC UNAVAILABLE").argParser(
        intArg("--unavailable-every", 0),
      ),
    )
    .addOption(
      new Option(
        "--unavailable-probability <p>",
        "fail each call with UNAVAILABLE with probability p",
      ).argParser(numberArg("--unavailable-probability", 1)),
    )
    .addOption(
      new Option("--unavailable-burst <k>", "fail the first K calls with UNAVAILABLE").argParser(
        intArg("--unavailable-burst", 0),
      ),
    )
    .addOption(
      new Option("--drop-connection-every <n>", "drop the connection of every Nth call").argParser(
        intArg("--drop-connection-every", 0),
      ),
    )
    .addOption(
      new Option("--growth-count <k>", "append K entries every --growth-every-ms").argParser(
        intArg("--growth-count", 1),
      ),
    )
    .addOption(
      new Option("--growth-every-ms <ms>", "growth period").argParser(intArg("--growth-every-ms", 1)),
    )
    .addOption(
      new Option("--growth-late-fraction <f>", "fraction of grown entries timestamped in the past").argParser(
        numberArg("--growth-late-fraction", 1),
      ),
    )
    .addOption(
      new Option("--fault-seed <s>", "seed of fault probabilities, jitter and growth").argParser(seedArg),
    )
    .action(async (flags: Flags) => run(flags));
}
