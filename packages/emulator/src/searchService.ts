/**
 * The transport-independent part of PostAuditLogSearches: faults, auth, validation, query. gRPC and
 * REST both call {@link SearchService.search} and only translate its outcome to their wire.
 */
import { randomBytes } from "node:crypto";
import type { PostAuditLogSearchesRequest } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import type { Status } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/status/status.js";
import { StatusCode } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/status/status_code.js";
import type { FaultController, FaultDecision } from "./faults.js";
import { compileQuery, InvalidRequest, runQuery } from "./query.js";
import { type RateLimiter, throttledDetails } from "./rateLimit.js";
import type { PreparedResponse } from "./responseCodec.js";
import type { AuditLog } from "./store.js";

/** What a transport must do with one call. */
export type SearchOutcome =
  | { kind: "reply"; response: PreparedResponse }
  | { kind: "unavailable" }
  | { kind: "drop" };

export function newReqId(): string {
  return randomBytes(16).toString("hex");
}

/** A non-success status with Clarifai's wording plus the specific reason. */
export function errorStatus(code: StatusCode, description: string, details: string, reqId: string): Status {
  return {
    code,
    description,
    details,
    stackTrace: [],
    percentCompleted: 0,
    timeRemaining: 0,
    reqId,
    internalDetails: "",
    redirectInfo: undefined,
    developerNotes: "",
    url: "",
    resourceType: "",
  } as Status;
}

export function okStatus(reqId: string): Status {
  return { ...errorStatus(StatusCode.SUCCESS, "Ok", "", reqId) };
}

const AUTH_PREFIX = /^key\s+(\S+)\s*$/i;

export class SearchService {
  /** Search calls seen, including faulted and refused ones. */
  calls = 0;
  /** Calls being served (their latency included). */
  private inFlight = 0;

  constructor(
    private readonly pats: Readonly<Record<string, string>>,
    private readonly logs: Map<string, AuditLog>,
    private readonly faults: FaultController,
    private readonly rate?: RateLimiter,
  ) {}

  /** The account a call is counted against by the rate limit: its PAT's user, if the PAT is known. */
  private accountOf(authorization: string | undefined): string | undefined {
    const m = authorization === undefined ? null : AUTH_PREFIX.exec(authorization);
    const token = m?.[1];
    return token !== undefined && Object.hasOwn(this.pats, token) ? this.pats[token] : undefined;
  }

  /**
   * Serves one call. `authorization` is the raw header/metadata value; `pathUserId` the REST
   * path's user id (it overrides user_app_id, as Clarifai's gateway does).
   */
  async search(
    request: PostAuditLogSearchesRequest,
    authorization: string | undefined,
    pathUserId?: string,
  ): Promise<SearchOutcome> {
    this.calls++;
    const fault = this.faults.next(this.inFlight);
    // Decided on arrival, before the injected latency, as a gateway in front of the service would.
    const account = this.rate?.limit === undefined ? undefined : this.accountOf(authorization);
    const overLimit = account !== undefined && this.rate?.admit(account) === false;
    this.inFlight++;
    try {
      return await this.serve(request, authorization, pathUserId, fault, overLimit);
    } finally {
      this.inFlight--;
    }
  }

  private async serve(
    request: PostAuditLogSearchesRequest,
    authorization: string | undefined,
    pathUserId: string | undefined,
    fault: FaultDecision,
    overLimit = false,
  ): Promise<SearchOutcome> {
    // Unref'd: open sockets keep a serving emulator alive; a pending delay must not outlive close().
    if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs).unref());
    if (fault.drop) return { kind: "drop" };
    if (fault.unavailable) return { kind: "unavailable" };
    const reqId = newReqId();
    const reply = (status: Status, entries: Uint8Array[] = []): SearchOutcome => ({
      kind: "reply",
      response: { status, entries },
    });
    if (fault.throttle) {
      return reply(
        errorStatus(
          StatusCode.CONN_THROTTLED,
          "Making too many requests",
          // With a rate limit set, in Clarifai's words (naming it), so a client paces its retries.
          this.rate?.limit === undefined
            ? "emulated throttling fault; retry after a backoff"
            : throttledDetails(this.rate.limit),
          reqId,
        ),
      );
    }
    const m = authorization === undefined ? null : AUTH_PREFIX.exec(authorization);
    if (m === null) {
      return reply(
        errorStatus(
          StatusCode.CONN_KEY_NOT_FOUND,
          "API key not found",
          "no 'authorization: Key <PAT>' header/metadata in the request",
          reqId,
        ),
      );
    }
    const token = m[1] as string;
    const keyUser = Object.hasOwn(this.pats, token) ? this.pats[token] : undefined;
    if (keyUser === undefined) {
      return reply(
        errorStatus(
          StatusCode.CONN_KEY_INVALID,
          "Invalid API key or Invalid API key/application pair",
          "the PAT is not known to this server",
          reqId,
        ),
      );
    }
    if (overLimit) {
      return reply(
        errorStatus(
          StatusCode.CONN_THROTTLED,
          "Making too many requests",
          throttledDetails(this.rate?.limit ?? 0),
          reqId,
        ),
      );
    }
    const asked = pathUserId ?? request.userAppId?.userId ?? "";
    const userId = asked === "" || asked === "me" ? keyUser : asked;
    if (userId !== keyUser) {
      return reply(
        errorStatus(
          StatusCode.CONN_INSUFFICIENT_SCOPES,
          "API key has insufficient scopes",
          `the PAT belongs to another user and cannot read the audit log of user '${userId}'`,
          reqId,
        ),
      );
    }
    let query: ReturnType<typeof compileQuery>;
    try {
      query = compileQuery(request);
    } catch (e) {
      if (!(e instanceof InvalidRequest)) throw e;
      return reply(
        errorStatus(StatusCode.CONN_INVALID_REQUEST, `Invalid request: ${e.message}`, e.message, reqId),
      );
    }
    const log = this.logs.get(userId);
    const ids = runQuery(log, query);
    const entries = log === undefined ? [] : ids.map((id) => log.bytesOf(id));
    return reply(okStatus(reqId), entries);
  }
}
