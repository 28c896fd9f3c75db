/** Protobuf scalar type numbers and wrapper types, as the descriptors name them. */

/** Scalar type numbers (google.protobuf.FieldDescriptorProto.Type). */
export const SCALAR_TYPE = {
  DOUBLE: 1,
  FLOAT: 2,
  INT64: 3,
  UINT64: 4,
  INT32: 5,
  FIXED64: 6,
  FIXED32: 7,
  BOOL: 8,
  STRING: 9,
  BYTES: 12,
  UINT32: 13,
  SFIXED32: 15,
  SFIXED64: 16,
  SINT32: 17,
  SINT64: 18,
} as const;

/** The well-known wrapper messages, by full name, and the scalar type each one wraps. */
export const WRAPPER_SCALAR: Readonly<Record<string, number>> = {
  "google.protobuf.DoubleValue": SCALAR_TYPE.DOUBLE,
  "google.protobuf.FloatValue": SCALAR_TYPE.FLOAT,
  "google.protobuf.Int64Value": SCALAR_TYPE.INT64,
  "google.protobuf.UInt64Value": SCALAR_TYPE.UINT64,
  "google.protobuf.Int32Value": SCALAR_TYPE.INT32,
  "google.protobuf.UInt32Value": SCALAR_TYPE.UINT32,
  "google.protobuf.BoolValue": SCALAR_TYPE.BOOL,
  "google.protobuf.StringValue": SCALAR_TYPE.STRING,
  "google.protobuf.BytesValue": SCALAR_TYPE.BYTES,
};
