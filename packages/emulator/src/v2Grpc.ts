/**
 * The V2 service as grpc-js takes it: the method's path and serializers, and a client constructor
 * for tests and benchmarks. Built here from the generated framework-free definition, because the
 * generated code is shared with the client, which speaks gRPC over node:http2 and must not load
 * grpc-js (this was ts-proto's `outputServices=grpc-js` output).
 */

import {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
  V2Definition,
} from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import {
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type ClientUnaryCall,
  type Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";

const search = V2Definition.methods.postAuditLogSearches;

/** `clarifai.api.V2` in grpc-js's service definition shape. */
export const V2Service = {
  postAuditLogSearches: {
    path: `/${V2Definition.fullName}/${search.name}` as "/clarifai.api.V2/PostAuditLogSearches",
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (value: PostAuditLogSearchesRequest): Buffer =>
      Buffer.from(PostAuditLogSearchesRequest.encode(value).finish()),
    requestDeserialize: (value: Buffer): PostAuditLogSearchesRequest =>
      PostAuditLogSearchesRequest.decode(value),
    responseSerialize: (value: MultiAuditLogEntryResponse): Buffer =>
      Buffer.from(MultiAuditLogEntryResponse.encode(value).finish()),
    responseDeserialize: (value: Buffer): MultiAuditLogEntryResponse =>
      MultiAuditLogEntryResponse.decode(value),
  },
} as const;

/** A grpc-js client of the V2 service. */
export interface V2Client extends Client {
  postAuditLogSearches(
    request: PostAuditLogSearchesRequest,
    callback: (error: ServiceError | null, response: MultiAuditLogEntryResponse) => void,
  ): ClientUnaryCall;
  postAuditLogSearches(
    request: PostAuditLogSearchesRequest,
    metadata: Metadata,
    callback: (error: ServiceError | null, response: MultiAuditLogEntryResponse) => void,
  ): ClientUnaryCall;
  postAuditLogSearches(
    request: PostAuditLogSearchesRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: MultiAuditLogEntryResponse) => void,
  ): ClientUnaryCall;
}

/** Constructs a {@link V2Client}. */
export const V2Client = makeGenericClientConstructor(V2Service, V2Definition.fullName) as unknown as {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): V2Client;
  service: typeof V2Service;
  serviceName: string;
};
