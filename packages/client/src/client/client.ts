/**
 * `AuditLogClient`: the facade backend services use. One HTTP/2 connection per client (the client's
 * own gRPC transport, src/client/transport), validated queries, typed errors, retries that see
 * Clarifai's in-band throttling codes, deadlines, AbortSignal, and async-iterator pagination.
 */
import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import type {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../../generated/proto/clarifai/api/service.js";
import { StatusCode } from "../../generated/proto/clarifai/api/status/status_code.js";
import {
  decodeSearchResponse,
  encodeSearchRequest,
  type RawEntry,
  type RawReply,
  splitSearchReply,
} from "../codec/index.js";
import { type AuditEntry, toAuditEntry } from "../domain/entry.js";
import { GrpcStatus } from "../domain/grpcStatus.js";
import { DEFAULT_PER_PAGE } from "../domain/limits.js";
import { REDACTED } from "../domain/redact.js";
import {
  CanceledError,
  errorFromGrpc,
  errorFromStatus,
  RateLimitError,
  ServerError,
  ValidationError,
} from "../errors.js";
import { type CallOptions, checkCallOptions } from "./callOptions.js";
import {
  type AuditLogClientOptions,
  type ResolvedConfig,
  resolveConfig,
  validateTimeoutMs,
} from "./config.js";
import { pinOpenRange } from "./pagination.js";
import {
  type AuditLogSearchQuery,
  requestFromValidated,
  type ValidatedQuery,
  validateQuery,
} from "./query.js";
import { RateBudget, type RequestStats } from "./rateBudget.js";
import { AttemptWatch, type RequestObserver } from "./requestEvent.js";
import { withRetry } from "./retry.js";
import { GrpcCallError } from "./transport/callFailure.js";
import { GrpcHttp2Transport } from "./transport/grpcHttp2.js";
import { type RequestHeaders, requestMetadata } from "./transport/metadata.js";

export type { CallOptions };

/** The one RPC. */
const SEARCH_METHOD_PATH = "/clarifai.api.V2/PostAuditLogSearches";

/** One page of results. */
export interface AuditLogPage {
  entries: AuditEntry[];
  /** Clarifai's request id of the successful attempt (`status.req_id`). */
  reqId: string;
  page: number;
  perPage: number;
  /** Attempts this page took (1 = no retry). */
  attempts: number;
}

/** The page a prebuilt request asks for, with the server's defaults for what it leaves unset. */
function pageOf(request: PostAuditLogSearchesRequest): { page: number; perPage: number } {
  return { page: request.pagination?.page || 1, perPage: request.pagination?.perPage || DEFAULT_PER_PAGE };
}

/**
 * One page of results with its entries left serialized (see {@link AuditLogClient.searchRaw}): each
 * entry's timestamp and its `AuditLogEntry` bytes.
 */
export interface RawAuditLogPage extends Omit<AuditLogPage, "entries"> {
  entries: RawEntry[];
}

function canceled(attempts: number): CanceledError {
  return new CanceledError({
    code: StatusCode.REQUEST_CANCELED_BY_USER,
    description: "the call was aborted by its AbortSignal",
    attempts,
  });
}

/**
 * A client for `V2/PostAuditLogSearches`.
 *
 * ```ts
 * const client = new AuditLogClient(); // CLARIFAI_PAT, CLARIFAI_USER_ID from the environment
 * for await (const e of client.entries({ operations: ["MODEL_CREATE"], from: "2025-01-01T00:00:00Z" })) {
 *   console.log(e.timestampIso, e.operationName, e.user?.id);
 * }
 * client.close();
 * ```
 */
export class AuditLogClient {
  readonly #config: ResolvedConfig;
  readonly #transport: GrpcHttp2Transport;
  readonly #budget: RateBudget;
  readonly #onRequest: RequestObserver | undefined;
  /** Attempts sent (the budget's count too), numbering them for {@link AuditLogClientOptions.onRequest}. */
  #sent = 0;
  #closed = false;

  /**
   * @throws ValidationError when the PAT or user id is missing, the endpoint is malformed, or
   * plaintext to a non-loopback host is requested without `allowInsecureRemote`.
   */
  constructor(options: AuditLogClientOptions = {}) {
    this.#config = resolveConfig(options);
    const { host, port, insecure, rootCerts, transport } = this.#config;
    this.#transport = new GrpcHttp2Transport({ host, port, insecure, rootCerts, settings: transport });
    this.#budget = new RateBudget(this.#config.rateLimit);
    this.#onRequest = options.onRequest;
  }

  /**
   * This client's request counters: attempts sent, served and throttled, their average rate, and
   * the limit its request budget keeps under (given, or learned from throttled replies).
   */
  stats(): RequestStats {
    return this.#budget.stats();
  }
  /** Whether a call of this `priority` would now wait behind another for its turn in the budget. */
  queuedAhead(priority: number): boolean {
    return this.#budget.queuedAhead(priority);
  }

  /** The user whose audit log this client searches. */
  get userId(): string {
    return this.#config.userId;
  }

  /** The `host:port` this client talks to. */
  get endpoint(): string {
    return this.#config.address;
  }

  /** Whether the connection is plaintext. */
  get insecure(): boolean {
    return this.#config.insecure;
  }

  /**
   * Fetches one page.
   * @throws ValidationError on bad input (before any network call); a `ClarifaiError` subclass when
   * the server or transport fails.
   */
  async search(query: AuditLogSearchQuery = {}, options: CallOptions = {}): Promise<AuditLogPage> {
    const validated = validateQuery(query);
    return this.#execute(validated, options);
  }

  /**
   * {@link search} without decoding the entries: same validation, auth, deadline, retries and errors,
   * but each entry comes back as its timestamp and serialized bytes (for transcoding them as bytes,
   * e.g. with `auditLogEntryBytesToJson`).
   */
  async searchRaw(query: AuditLogSearchQuery = {}, options: CallOptions = {}): Promise<RawAuditLogPage> {
    const v = validateQuery(query);
    const { value, attempts } = await this.#call(
      requestFromValidated(v, this.#config.userId),
      options,
      splitSearchReply,
    );
    return {
      entries: value.entries,
      reqId: value.status?.reqId ?? "",
      page: v.page,
      perPage: v.perPage,
      attempts,
    };
  }

  /**
   * {@link searchRaw} for a prebuilt request (see {@link searchRequest}): no validation, so a caller
   * that sends many pages of one query (the export engine) validates it once.
   */
  async searchRawRequest(
    request: PostAuditLogSearchesRequest,
    options: CallOptions = {},
  ): Promise<RawAuditLogPage> {
    const req = this.#withUser(request);
    const { value, attempts } = await this.#call(req, options, splitSearchReply);
    const { page, perPage } = pageOf(req);
    return { entries: value.entries, reqId: value.status?.reqId ?? "", page, perPage, attempts };
  }

  /**
   * Sends a prebuilt request (e.g. from {@link buildSearchRequest}, with pagination adjusted) as is,
   * with this client's auth, deadline and retries. No validation: use it for requests built by this
   * library. An unset `userAppId` is filled with this client's user id.
   */
  async searchRequest(
    request: PostAuditLogSearchesRequest,
    options: CallOptions = {},
  ): Promise<AuditLogPage> {
    const req = this.#withUser(request);
    const { page, perPage } = pageOf(req);
    return this.#send(req, page, perPage, options);
  }

  /**
   * Pages through every result, from `query.page` (default 1), stopping after the first short page.
   *
   * When `query.to` is absent it is pinned to the time of the first request, so entries logged while
   * iterating cannot shift later pages (and are not returned). Each page is one `search`, with its own
   * deadline and retries. The query is validated when `pages` is called.
   */
  pages(query: AuditLogSearchQuery = {}, options: CallOptions = {}): AsyncGenerator<AuditLogPage> {
    const validated = validateQuery(query);
    checkCallOptions(options);
    return this.#pages(validated, options);
  }

  /** Every matching entry, page after page (see {@link pages}), for `for await … of`. */
  entries(query: AuditLogSearchQuery = {}, options: CallOptions = {}): AsyncIterable<AuditEntry> {
    const pages = this.pages(query, options);
    return (async function* () {
      for await (const page of pages) yield* page.entries;
    })();
  }

  /** `request` with this client's user id filled in when it names none. */
  #withUser(request: PostAuditLogSearchesRequest): PostAuditLogSearchesRequest {
    return request.userAppId?.userId
      ? request
      : { ...request, userAppId: { userId: this.#config.userId, appId: "" } };
  }

  /** Closes the connection. Calls made afterwards fail; calls in flight are cancelled. */
  close(): void {
    this.#closed = true;
    this.#transport.close();
  }

  async *#pages(validated: ValidatedQuery, options: CallOptions): AsyncGenerator<AuditLogPage> {
    const query = pinOpenRange(validated);
    for (let page = query.page; ; page++) {
      const result = await this.#execute({ ...query, page }, options);
      yield result;
      if (result.entries.length < query.perPage) return;
    }
  }

  #execute(validated: ValidatedQuery, options: CallOptions): Promise<AuditLogPage> {
    return this.#send(
      requestFromValidated(validated, this.#config.userId),
      validated.page,
      validated.perPage,
      options,
    );
  }

  async #send(
    request: PostAuditLogSearchesRequest,
    page: number,
    perPage: number,
    options: CallOptions,
  ): Promise<AuditLogPage> {
    const { value, attempts } = await this.#call(request, options, decodeSearchResponse);
    return {
      entries: value.entries.map(toAuditEntry),
      reqId: value.status?.reqId ?? "",
      page,
      perPage,
      attempts,
    };
  }

  async #call<R extends MultiAuditLogEntryResponse | RawReply>(
    request: PostAuditLogSearchesRequest,
    options: CallOptions,
    deserialize: (bytes: Buffer) => R,
  ): Promise<{ value: R; attempts: number }> {
    if (this.#closed) throw new ValidationError("client", "closed", "an open client", "the client is closed");
    checkCallOptions(options);
    const timeoutMs = validateTimeoutMs(options.timeoutMs ?? this.#config.timeoutMs);
    const metadata = requestMetadata(options.metadata, this.#config.pat);
    const { signal } = options;
    if (signal?.aborted) throw canceled(0);
    const deadline = Date.now() + timeoutMs;
    const priority = options.priority ?? 0;
    // Only with an observer: the export engine's hot path pays nothing for it otherwise.
    const watch =
      this.#onRequest === undefined
        ? undefined
        : new AttemptWatch(this.#onRequest, pageOf(request), () => this.#budget.paced);
    return withRetry(
      (n) => this.#paced(request, metadata, deadline, n, signal, priority, deserialize, watch),
      {
        policy: this.#config.retry,
        deadline,
        signal,
        // The budget spaces a throttled call's retry (after learning the limit); no backoff on top.
        delayFor: (err) => (err instanceof RateLimitError && this.#budget.paced ? 0 : undefined),
        ...(watch === undefined ? {} : { onFailure: (err, n, retryInMs) => watch.failed(err, n, retryInMs) }),
      },
    );
  }

  /** One attempt, in its turn of the request budget; its reply is reported back to the budget. */
  async #paced<R extends MultiAuditLogEntryResponse | RawReply>(
    request: PostAuditLogSearchesRequest,
    metadata: RequestHeaders,
    deadline: number,
    attempt: number,
    signal: AbortSignal | undefined,
    priority: number,
    deserialize: (bytes: Buffer) => R,
    watch: AttemptWatch | undefined,
  ): Promise<R> {
    const ticket = await this.#budget.acquire(signal, attempt - 1, priority);
    this.#sent++;
    watch?.sent(attempt, this.#sent, performance.now());
    try {
      const value = await this.#attempt(request, metadata, deadline, attempt, signal, deserialize);
      this.#budget.settle(ticket, "served");
      if (watch !== undefined) {
        watch.replied(performance.now());
        watch.served(value.entries.length);
      }
      return value;
    } catch (error) {
      watch?.replied(performance.now());
      if (error instanceof RateLimitError) this.#budget.settle(ticket, "throttled", error.details);
      else this.#budget.settle(ticket, "served");
      throw error;
    }
  }

  async #attempt<R extends MultiAuditLogEntryResponse | RawReply>(
    request: PostAuditLogSearchesRequest,
    metadata: RequestHeaders,
    deadline: number,
    attempt: number,
    signal: AbortSignal | undefined,
    deserialize: (bytes: Buffer) => R,
  ): Promise<R> {
    const context = { attempts: attempt, secret: this.#config.pat, insecure: this.insecure };
    if (signal?.aborted) throw canceled(attempt);
    let response: R;
    try {
      const bytes = await this.#transport.unary({
        path: SEARCH_METHOD_PATH,
        message: encodeSearchRequest(request),
        metadata,
        deadline,
        signal,
      });
      response = deserialize(bytes);
    } catch (err) {
      const failure =
        err instanceof GrpcCallError
          ? err
          : {
              code: GrpcStatus.INTERNAL,
              details: `cannot read the server's reply: ${(err as Error).message}`,
            };
      throw errorFromGrpc(failure, { ...context, aborted: signal?.aborted === true });
    }
    if (response.status === undefined) {
      throw new ServerError({
        code: StatusCode.INTERNAL_SERVER_ISSUE,
        description: "reply without a status",
        attempts: attempt,
      });
    }
    if (response.status.code !== StatusCode.SUCCESS) throw errorFromStatus(response.status, context);
    return response;
  }

  #publicView(): Record<string, unknown> {
    return {
      endpoint: this.#config.address,
      userId: this.#config.userId,
      insecure: this.#config.insecure,
      pat: REDACTED,
    };
  }

  /** A PAT-free description. */
  toJSON(): Record<string, unknown> {
    return this.#publicView();
  }

  toString(): string {
    return `AuditLogClient(${this.#config.address}, user ${this.#config.userId})`;
  }

  [inspect.custom](): string {
    return `AuditLogClient ${inspect(this.#publicView())}`;
  }
}
