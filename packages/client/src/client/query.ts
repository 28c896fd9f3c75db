/**
 * Query validation and request building: everything the caller asks for is checked here, before any
 * network call, and turned into a `PostAuditLogSearchesRequest`.
 */
import { isIP } from "node:net";
import type { AuditLogTarget, EventType } from "../../generated/proto/clarifai/api/resources.js";
import type { PostAuditLogSearchesRequest } from "../../generated/proto/clarifai/api/service.js";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "../domain/limits.js";
import { type OperationInput, parseOperation } from "../domain/operations.js";
import { isPlainObject } from "../domain/plainObject.js";
import { parseTarget, type TargetInput } from "../domain/targets.js";
import {
  compareTimestamps,
  formatTimestamp,
  parseTimestamp,
  type TimeInput,
  type Timestamp,
} from "../domain/time.js";
import { ValidationError } from "../errors.js";

/** A google-protobuf `BoolValue` (as the documentation's Node example builds `success`). */
export interface BoolValueLike {
  getValue(): boolean;
}

/** What to search for. Every field is optional; filters combine with AND, values within one with OR. */
export interface AuditLogSearchQuery {
  /** Earliest entry time (inclusive). */
  from?: TimeInput;
  /** Latest entry time (inclusive). Left open, {@link AuditLogClient.pages} pins it to the first request's time. */
  to?: TimeInput;
  /** Users who performed the operation. */
  userIds?: string[];
  /** Operations: names (`"MODEL_CREATE"`), codes (`300`) or `EventType` values. */
  operations?: OperationInput[];
  /** Resources operated on, e.g. `{ model: "my-model" }`, `{ modelVersion: { id, appId } }`. */
  targets?: TargetInput[];
  /** `true`: only successful operations; `false`: only failed ones; absent: both. */
  success?: boolean | BoolValueLike;
  /** Source IP addresses (IPv4 or IPv6). */
  sourceIps?: string[];
  /** Page number, from 1 (default 1). */
  page?: number;
  /** Entries per page, 1–1000 (default 128). */
  perPage?: number;
  /** Oldest first when true; newest first (the API's default) otherwise. */
  sortAscending?: boolean;
}

const QUERY_KEYS: ReadonlySet<string> = new Set([
  "from",
  "to",
  "userIds",
  "operations",
  "targets",
  "success",
  "sourceIps",
  "page",
  "perPage",
  "sortAscending",
]);

function list<T>(value: unknown, field: string, allowed: string): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new ValidationError(field, value, `an array of ${allowed}`, "not an array");
  return value as T[];
}

function nonEmptyString(value: unknown, field: string, allowed: string): string {
  if (typeof value !== "string" || value.trim() === "" || value !== value.trim()) {
    throw new ValidationError(field, value, allowed, "must be a non-empty string without surrounding spaces");
  }
  return value;
}

/** Ids never hold whitespace: a filter on one would match nothing, silently. */
function noWhitespace(value: string, field: string, allowed: string): string {
  if (/\s/.test(value)) throw new ValidationError(field, value, allowed, "an id has no whitespace");
  return value;
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, value, `an integer ${min}–${max}`, "out of range or not an integer");
  }
  return value;
}

/** A validated query, in protobuf terms; `buildSearchRequest` wraps it into the request message. */
export interface ValidatedQuery {
  from?: Timestamp;
  to?: Timestamp;
  userIds: string[];
  operations: EventType[];
  targets: AuditLogTarget[];
  success?: boolean;
  sourceIps: string[];
  page: number;
  perPage: number;
  sortAscending: boolean;
}

/**
 * Validates a query. Unknown keys are refused too (a misspelled filter would otherwise be
 * ignored and match everything).
 * @throws ValidationError naming the field, the bad value and what is allowed.
 */
export function validateQuery(query: AuditLogSearchQuery = {}): ValidatedQuery {
  // Checked as unknown: the guard would otherwise narrow every field of the query to unknown.
  if (!isPlainObject(query as unknown)) {
    throw new ValidationError("query", query, "an AuditLogSearchQuery object", "not an object");
  }
  for (const key of Object.keys(query)) {
    if (!QUERY_KEYS.has(key)) {
      throw new ValidationError(
        key,
        (query as Record<string, unknown>)[key],
        [...QUERY_KEYS].join(", "),
        "unknown query field",
      );
    }
  }
  const from = query.from === undefined ? undefined : parseTimestamp(query.from, "from");
  const to = query.to === undefined ? undefined : parseTimestamp(query.to, "to");
  if (from && to && compareTimestamps(from, to) > 0) {
    throw new ValidationError(
      "from",
      query.from,
      `a time not after to (${formatTimestamp(to)})`,
      `from (${formatTimestamp(from)}) is after to`,
    );
  }
  const userIds = list<unknown>(query.userIds, "userIds", "user ids").map((u, i) =>
    noWhitespace(nonEmptyString(u, `userIds[${i}]`, "a user id"), `userIds[${i}]`, "a user id"),
  );
  const operations = list<OperationInput>(query.operations, "operations", "operations").map((o, i) =>
    parseOperation(o, `operations[${i}]`),
  );
  const targets = list<TargetInput>(query.targets, "targets", "targets").map((t, i) =>
    parseTarget(t, `targets[${i}]`),
  );
  const sourceIps = list<unknown>(query.sourceIps, "sourceIps", "IP addresses").map((ip, i) => {
    if (typeof ip !== "string" || isIP(ip) === 0) {
      throw new ValidationError(
        `sourceIps[${i}]`,
        ip,
        "an IPv4 or IPv6 address like 3.234.120.41 or ::1",
        "not an IP address",
      );
    }
    return ip;
  });
  let success: boolean | undefined;
  const s = query.success as unknown;
  if (typeof s === "boolean") success = s;
  else if (typeof s === "object" && s !== null && typeof (s as BoolValueLike).getValue === "function") {
    const v = (s as BoolValueLike).getValue();
    if (typeof v !== "boolean")
      throw new ValidationError("success", s, "true, false or a BoolValue", "BoolValue without a boolean");
    success = v;
  } else if (s !== undefined) {
    throw new ValidationError(
      "success",
      s,
      "true (successes), false (failures), a BoolValue, or absent (both)",
      "not a boolean",
    );
  }
  const page = query.page === undefined ? 1 : integerIn(query.page, "page", 1, 0xffffffff);
  const perPage =
    query.perPage === undefined ? DEFAULT_PER_PAGE : integerIn(query.perPage, "perPage", 1, MAX_PER_PAGE);
  if (query.sortAscending !== undefined && typeof query.sortAscending !== "boolean") {
    throw new ValidationError("sortAscending", query.sortAscending, "true or false", "not a boolean");
  }
  return {
    from,
    to,
    userIds,
    operations,
    targets,
    success,
    sourceIps,
    page,
    perPage,
    sortAscending: query.sortAscending ?? false,
  };
}

/** Wraps a validated query into the request message for `userId`. */
export function requestFromValidated(q: ValidatedQuery, userId: string): PostAuditLogSearchesRequest {
  return {
    userAppId: { userId, appId: "" },
    query: {
      timestampFrom: q.from,
      timestampTo: q.to,
      userIds: q.userIds,
      operations: q.operations,
      targets: q.targets,
      success: q.success,
      sourceIps: q.sourceIps,
    },
    sortAscending: q.sortAscending,
    pagination: { page: q.page, perPage: q.perPage },
  };
}

/**
 * Validates `query` and builds the `PostAuditLogSearchesRequest` for `userId`, without any network
 * call. Pagination is always explicit (page 1, 128 per page unless given).
 * @throws ValidationError on bad input.
 */
export function buildSearchRequest(
  query: AuditLogSearchQuery | undefined,
  userId: string,
): PostAuditLogSearchesRequest {
  const id = nonEmptyString(userId, "userId", "the Clarifai user id whose audit log to search");
  return requestFromValidated(validateQuery(query), id);
}
