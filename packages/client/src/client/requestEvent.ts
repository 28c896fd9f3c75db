/**
 * What a client tells an `onRequest` observer (`AuditLogClientOptions.onRequest`): one event per
 * attempt it sent, once the attempt's fate is known (its reply, or its failure and whether the call
 * tries again). The CLI's `-v/--verbose` prints one line per event.
 */
import { GrpcStatus } from "../domain/grpcStatus.js";
import { ClarifaiError, RateLimitError } from "../errors.js";

/** One attempt of a search call, as its observer sees it. Carries no credentials. */
export interface RequestEvent {
  /** The attempt's number among all this client sent, from 1: the last one's equals `stats().requests`. */
  request: number;
  /** Which attempt of its call this was: 1 the first, 2 the first retry, … */
  attempt: number;
  /** The page asked for, from 1. */
  page: number;
  /** Entries per page asked for. */
  perPage: number;
  /** Milliseconds from sending the attempt to its reply or failure. */
  durationMs: number;
  /**
   * `served`: the page came back; `throttled`: the server refused it for the rate (CONN_THROTTLED,
   * gRPC RESOURCE_EXHAUSTED); `failed`: any other error.
   */
  outcome: "served" | "throttled" | "failed";
  /** Entries on the page served (0 when not served). */
  entries: number;
  /**
   * Why it was not served: the gRPC status name when the transport failed (`UNAVAILABLE`,
   * `DEADLINE_EXCEEDED`), else Clarifai's status name (`CONN_THROTTLED`).
   */
  code?: string;
  /**
   * Set when the call tries again: the next attempt's number and the wait before it, in ms (the
   * backoff); `paced` when the wait is instead the request budget's turn (a throttled call while
   * the budget paces at a known limit), and `delayMs` is then 0.
   */
  retry?: { attempt: number; delayMs: number; paced: boolean };
}

/** The observer of a client's attempts. */
export type RequestObserver = (event: RequestEvent) => void;

const GRPC_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** The name of a failure's code, as {@link RequestEvent.code} gives it. */
function failureCode(error: unknown): string {
  if (!(error instanceof ClarifaiError)) return "ERROR";
  if (error.grpcCode !== undefined && !(error instanceof RateLimitError))
    return GRPC_NAMES.get(error.grpcCode) ?? error.codeName;
  return error.codeName;
}

/**
 * The attempts of one call, watched for `observe`: the client marks each attempt sent, served or
 * failed, and the retry loop says what follows a failure; one event per attempt sent (an attempt
 * that never got its turn in the budget was not sent, and is not told).
 */
export class AttemptWatch {
  #attempt = 0;
  #request = 0;
  #sentAt = 0;
  #durationMs = 0;

  constructor(
    private readonly observe: RequestObserver,
    private readonly page: { page: number; perPage: number },
    /** Whether a throttled call's retry now waits for the budget's turn instead of a backoff. */
    private readonly budgetPaces: () => boolean,
  ) {}

  /** Attempt `attempt` of the call was sent, as the client's `request`-th. */
  sent(attempt: number, request: number, now: number): void {
    this.#attempt = attempt;
    this.#request = request;
    this.#sentAt = now;
    this.#durationMs = 0;
  }

  /** The attempt's reply or failure came at `now`. */
  replied(now: number): void {
    this.#durationMs = now - this.#sentAt;
  }

  /** The attempt was served with `entries` entries. */
  served(entries: number): void {
    this.#emit({ outcome: "served", entries });
  }

  /**
   * Attempt `attempt` failed with `error`; `retryInMs` is the wait before the next attempt, or
   * undefined when the call gives up.
   */
  failed(error: unknown, attempt: number, retryInMs: number | undefined): void {
    // Not sent (aborted while waiting for its turn): nothing reached the server.
    if (attempt !== this.#attempt) return;
    const throttled = error instanceof RateLimitError;
    this.#emit({
      outcome: throttled ? "throttled" : "failed",
      entries: 0,
      code: failureCode(error),
      ...(retryInMs === undefined
        ? {}
        : {
            retry: {
              attempt: attempt + 1,
              delayMs: retryInMs,
              paced: throttled && retryInMs === 0 && this.budgetPaces(),
            },
          }),
    });
  }

  #emit(outcome: Pick<RequestEvent, "outcome" | "entries" | "code" | "retry">): void {
    const event: RequestEvent = {
      request: this.#request,
      attempt: this.#attempt,
      page: this.page.page,
      perPage: this.page.perPage,
      durationMs: this.#durationMs,
      ...outcome,
    };
    // Reported once per attempt sent.
    this.#attempt = 0;
    try {
      this.observe(event);
    } catch {
      // Observing never changes a call: an observer's own failure is not the search's.
    }
  }
}
