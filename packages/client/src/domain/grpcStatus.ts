/**
 * gRPC status codes (grpc/doc/statuscodes.md). Defined here, not taken from a gRPC library, so the
 * client's own transport and the error mapping of packages/client/src/errors.ts share them without a dependency.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of {@link GrpcStatus}'s values. */
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];
