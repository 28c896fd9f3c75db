/**
 * `clarifai-audit emulator`: runs the emulator until SIGINT/SIGTERM. Once both servers listen it
 * prints exactly one JSON line on stdout — `{"grpc":…,"rest":…,"pats":{…}}` — so scripts and tests
 * can read the ephemeral ports. The PATs printed are the emulator's own test tokens.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { durationProblem, parseDurationMs } from "@clarifai-audit/client/internal/domain/duration.js";
import type {
  EmulatorAccount,
  EmulatorOptions,
  FaultOptions,
} from "@clarifai-audit/emulator/internal/options.js";
import type { EmulatorHandle } from "@clarifai-audit/emulator/internal/server.js";
import { type Command, InvalidArgumentError, Option } from "commander";
import { addDeprecatedAlias } from "./deprecatedFlags.js";
import { JSON_SUMMARY_HELP, verboseOption } from "./sharedFlags.js";
import { QUIET_HELP } from "./vocabulary.js";

// packages/emulator/src/options.ts's MAX_GENERATE and KNOB_LIMITS, repeated so that declaring the command
// loads nothing but commander (test/emulator/limits.test.ts proves them equal).
/** Largest --generate. */
export const GENERATE_MAX = 5_000_000;
/** Largest --latency-ms / --jitter-ms. */
export const DELAY_MAX = 600_000;
/** Largest counting knob. */
export const COUNT_MAX = 1_000_000_000;
/** Largest --growth-count. */
export const GROWTH_COUNT_MAX = 100_000;
/** Largest --growth-every-ms. */
export const GROWTH_EVERY_MAX = 86_400_000;

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

/** An integer option in [min, max]; its parser's message names the flag. */
function intOption(flags: string, description: string, min: number, max: number): Option {
  return new Option(flags, description).argParser(intArg(flags.split(" ")[0] as string, min, max));
}

/** A number option in [0, max]; its parser's message names the flag. */
function numberOption(flags: string, description: string, max: number): Option {
  return new Option(flags, description).argParser(numberArg(flags.split(" ")[0] as string, max));
}

/** A duration option (`1h`, `90s`: the domain's one form of durations). */
function durationArg(name: string) {
  return (v: string): number => {
    const ms = parseDurationMs(v);
    if (ms === undefined) throw new InvalidArgumentError(`${name}: ${durationProblem(v)}`);
    return ms;
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
  // The client sends only such PATs (packages/client/src/client/config.ts): another one could never be used.
  if (!/^[\x21-\x7e]+$/.test(v.slice(0, eq))) {
    throw new InvalidArgumentError(
      "the token must be printable ASCII without spaces, as the client requires.",
    );
  }
  return { ...(prev ?? {}), [v.slice(0, eq)]: v.slice(eq + 1) };
}

const ACCOUNT_FORM = "TOKEN=USER_ID[,generate=N][,seed=S][,growth=K/MS/F]";

/**
 * `--account TOKEN=USER_ID[,generate=N][,seed=S][,growth=K/MS/F]`: one account of the emulator's
 * `accounts`, with its own generated log and growth (K entries every MS ms, a fraction F late).
 */
function accountArg(v: string, prev: EmulatorAccount[] | undefined): EmulatorAccount[] {
  const [head = "", ...rest] = v.split(",");
  const [pat, userId] = Object.entries(patArg(head, undefined))[0] as [string, string];
  const account: EmulatorAccount = { pat, userId };
  let count: number | undefined;
  let seed = 1;
  for (const item of rest) {
    const m = /^(generate|seed|growth)=(.+)$/.exec(item);
    if (m?.[1] === "generate") count = intArg("generate", 0, GENERATE_MAX)(m[2] as string);
    else if (m?.[1] === "seed") seed = seedArg(m[2] as string);
    else if (m?.[1] === "growth" && /^\d+\/\d+\/(0|1|0?\.\d+)$/.test(m[2] as string)) {
      const [k, ms, f] = (m[2] as string).split("/").map(Number) as [number, number, number];
      account.growth = { count: k, everyMs: ms, lateFraction: f };
    } else throw new InvalidArgumentError(`expected ${ACCOUNT_FORM}, got '${item}'.`);
  }
  if (count !== undefined) account.generate = { count, seed };
  return [...(prev ?? []), account];
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
  account?: EmulatorAccount[];
  data?: string[];
  generate?: number;
  generateSince?: number;
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
  rateLimit?: number;
  /** `--preset`; the deprecated `--profile` is moved onto it before the command runs. */
  preset?: "clarifai";
  quiet?: boolean;
}

function readPem(flag: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (e) {
    throw new Error(`${flag} ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  // Checked here, per file: OpenSSL's error from the server credentials names neither.
  try {
    if (flag === "--tls-cert") new X509Certificate(pem);
    else createPrivateKey(pem);
  } catch (e) {
    const what = flag === "--tls-cert" ? "a PEM certificate" : "a PEM private key";
    throw new Error(`${flag} ${path}: not ${what} (${(e as Error).message})`);
  }
  return pem;
}

function readTls(certPath: string, keyPath: string): { cert: Buffer; key: Buffer } {
  const cert = readPem("--tls-cert", certPath);
  const key = readPem("--tls-key", keyPath);
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(
      `--tls-cert ${certPath} and --tls-key ${keyPath} do not go together (${(e as Error).message})`,
    );
  }
  return { cert, key };
}

/** Flags → options; throws an Error with a one-line message on inconsistent flags. */
function emulatorOptionsFromFlags(f: Flags): EmulatorOptions {
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) {
    throw new Error("--tls-cert and --tls-key go together; give both or neither");
  }
  if ((f.growthCount === undefined) !== (f.growthEveryMs === undefined)) {
    throw new Error("--growth-count and --growth-every-ms go together; give both or neither");
  }
  if (f.generateSince !== undefined && f.generate === undefined) {
    throw new Error("--generate-since needs --generate");
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
    tls: f.tlsCert !== undefined && f.tlsKey !== undefined ? readTls(f.tlsCert, f.tlsKey) : undefined,
    pats: f.pat,
    ...(f.account !== undefined ? { accounts: f.account } : {}),
    dataFiles: f.data,
    generate:
      f.generate !== undefined
        ? {
            count: f.generate,
            seed: f.seed,
            ...(f.generateSince !== undefined
              ? { startSeconds: Math.floor((Date.now() - f.generateSince) / 1000) }
              : {}),
          }
        : undefined,
    dataUserId: f.dataUser,
    faults,
    ...(f.rateLimit !== undefined ? { rateLimit: f.rateLimit } : {}),
    // The library's option keeps its name: `profile` of EmulatorOptions is the CLI's --preset.
    ...(f.preset !== undefined ? { profile: f.preset } : {}),
  };
}

/** One line for a failed start; a busy port names the flag and what to do. */
function startError(e: unknown, flags: Flags): string {
  const message = e instanceof Error ? e.message : String(e);
  const busy = /EADDRINUSE: address already in use ([^\s\]]+)/.exec(message);
  if (busy) {
    const grpc = /No address added/.test(message);
    const flag = grpc ? `--port ${flags.port}` : `--rest-port ${flags.restPort}`;
    return `${flag}: ${busy[1]} is already in use (another emulator?); stop it, pick another port, or use 0 for an ephemeral one`;
  }
  return message;
}

/**
 * What the emulator's run needs from the program that hosts it (the CLI's command runner): where to
 * print, and the signal that the first SIGINT/SIGTERM aborts (`stoppedBy` names it).
 */
export interface EmulatorRunContext {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  signal: AbortSignal;
  readonly stoppedBy: string | undefined;
}

/** How the emulator's run ended: its exit code, and what it served (for `--json`). */
export interface EmulatorOutcome {
  exitCode: number;
  figures?: Record<string, unknown>;
}

/**
 * Runs the emulator's work under the host's lifecycle (`json`: whether --json was given, for the
 * host's summary object); the work resolves with its outcome.
 */
export type EmulatorHost = (
  work: (ctx: EmulatorRunContext) => Promise<EmulatorOutcome>,
  json: boolean | undefined,
) => Promise<void>;

async function run(ctx: EmulatorRunContext, flags: Flags): Promise<EmulatorOutcome> {
  let handle: EmulatorHandle;
  try {
    const options = emulatorOptionsFromFlags(flags);
    // Loaded here, not at import: the CLI declares this command on every start.
    const { startEmulator, quietGrpcLogs } = await import("@clarifai-audit/emulator/internal/server.js");
    // grpc-js logs a failed bind itself; the one line below says it better.
    quietGrpcLogs();
    handle = await startEmulator(options);
  } catch (e) {
    // The one error prefix of every command (packages/cli/src/cli/exitCodes.ts's errorLine).
    ctx.stderr.write(`clarifai-audit: error: ${startError(e, flags)}\n`);
    return { exitCode: 2 };
  }
  // The host listens for signals before the work starts: whoever reads the ready line may signal at
  // once, and a signal that finds no handler kills the process without the clean shutdown.
  const stopped = new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  ctx.stdout.write(
    `${JSON.stringify({ grpc: handle.grpcAddress, rest: handle.restUrl ?? null, pats: handle.pats })}\n`,
  );
  const say = (line: string) => {
    if (!flags.quiet) ctx.stderr.write(`clarifai-audit: emulator ${line}\n`);
  };
  say(`serving ${handle.size()} entries; Ctrl-C to stop`);
  await stopped;
  say(`${ctx.stoppedBy ?? "stopped"}, shutting down`);
  // Read before closing: what the run served, for --json.
  const figures = {
    grpc: handle.grpcAddress,
    rest: handle.restUrl ?? null,
    entries: handle.size(),
    calls: handle.calls,
    rateLimited: handle.rateLimited,
  };
  await handle.close();
  return { exitCode: 0, figures };
}

/** Registers `emulator` on the CLI program; `host` runs it (the CLI's command runner). */
export function registerEmulatorCommand(program: Command, host: EmulatorHost): void {
  const cmd = program
    .command("emulator")
    .description("Run a local audit-log server (gRPC + REST) for offline development and tests.")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--port <port>", "gRPC port (0 = ephemeral)", intArg("--port", 0, 65535), 0)
    .option("--rest-port <port>", "REST port (0 = ephemeral)", intArg("--rest-port", 0, 65535), 0)
    .option("--no-rest", "do not start the REST server")
    .option("--tls-cert <file>", "PEM certificate chain (enables TLS on gRPC and https on REST)")
    .option("--tls-key <file>", "PEM private key")
    .option("--pat <token=user_id>", "accept PAT TOKEN for user USER_ID (repeatable)", patArg)
    .option(
      "--account <spec>",
      `serve one more account with a log of its own: ${ACCOUNT_FORM} (repeatable; rate limits count each account apart)`,
      accountArg,
    )
    .option("--data <file>", "JSONL file of entries (REST JSON form) to load (repeatable)", collect)
    .option(
      "--generate <n>",
      `generate N synthetic entries, 0-${GENERATE_MAX}`,
      intArg("--generate", 0, GENERATE_MAX),
    )
    .option(
      "--generate-since <duration>",
      "start the generated entries this long before now (e.g. 1h; about 15 s apart), so --since and tail show them (default: from 2025-01-01)",
      durationArg("--generate-since"),
    )
    .option("--seed <s>", "seed of --generate", seedArg, 1)
    .option("--data-user <user_id>", "whose audit log the data goes to (default: the first PAT's user)")
    .addOption(numberOption("--latency-ms <ms>", `fixed delay per call, 0-${DELAY_MAX} ms`, DELAY_MAX))
    .addOption(numberOption("--jitter-ms <ms>", `extra random delay per call, 0-${DELAY_MAX} ms`, DELAY_MAX))
    .addOption(intOption("--throttle-every <n>", "throttle every Nth call (status 11005)", 0, COUNT_MAX))
    .addOption(numberOption("--throttle-probability <p>", "throttle each call with probability p", 1))
    .addOption(intOption("--throttle-burst <k>", "throttle the first K calls", 0, COUNT_MAX))
    .addOption(
      intOption(
        "--throttle-above-in-flight <n>",
        "throttle calls arriving while N calls are being served (a concurrency limit)",
        0,
        COUNT_MAX,
      ),
    )
    .addOption(
      intOption("--unavailable-every <n>", "fail every Nth call with gRPC UNAVAILABLE", 0, COUNT_MAX),
    )
    .addOption(
      numberOption("--unavailable-probability <p>", "fail each call with UNAVAILABLE with probability p", 1),
    )
    .addOption(intOption("--unavailable-burst <k>", "fail the first K calls with UNAVAILABLE", 0, COUNT_MAX))
    .addOption(
      intOption("--drop-connection-every <n>", "drop the connection of every Nth call", 0, COUNT_MAX),
    )
    .addOption(
      intOption("--growth-count <k>", "append K entries every --growth-every-ms", 1, GROWTH_COUNT_MAX),
    )
    .addOption(intOption("--growth-every-ms <ms>", "growth period", 1, GROWTH_EVERY_MAX))
    .addOption(
      numberOption("--growth-late-fraction <f>", "fraction of grown entries timestamped in the past", 1),
    )
    .addOption(
      intOption(
        "--rate-limit <n>",
        "throttle calls over N requests per second per account (1-10000; sliding 1 s window; CONN_THROTTLED, REST 429)",
        1,
        10_000,
      ),
    )
    .addOption(
      new Option(
        "--preset <name>",
        "rehearse a real service: clarifai = 15 requests/s per account, 80-120 ms per call (flags given override it)",
      ).choices(["clarifai"]),
    )
    .addOption(
      new Option("--fault-seed <s>", "seed of fault probabilities, jitter and growth").argParser(seedArg),
    )
    .option("-q, --quiet", QUIET_HELP)
    .addOption(
      verboseOption(
        "accepted as everywhere; the emulator serves requests and makes none, so it adds nothing (a client's -v shows its own)",
      ),
    )
    .option("--json", JSON_SUMMARY_HELP);
  // --profile named the preset (--profile is the config file's named profile): kept until 0.2.0.
  addDeprecatedAlias(cmd, "--profile", "--preset");
  cmd.action((flags: Flags & { json?: boolean }) => host((ctx) => run(ctx, flags), flags.json));
}
