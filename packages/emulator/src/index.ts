/**
 * `clarifai-audit/emulator`: a local, faithful server for Clarifai's audit-log search
 * (`clarifai.api.V2/PostAuditLogSearches` over gRPC, `POST /v2/users/{user_id}/audit_log/searches`
 * over REST), with auth, query semantics, fault injection and growing logs. See docs/emulator.md.
 * @packageDocumentation
 */

export { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
export { DataFileError, loadEntriesFile } from "./dataFile.js";
export { encodeEntry } from "./entryEncoder.js";
export {
  EntryGenerator,
  type GenerateOptions,
  generateEntries,
  generateEntryStream,
} from "./generate.js";
export {
  type EmulatorAccount,
  type EmulatorOptions,
  type FaultOptions,
  type GenerateData,
  type GrowthOptions,
  NO_FAULTS,
  validateFaults,
} from "./options.js";
export { EMULATOR_PROFILES, type EmulatorProfile, type EmulatorProfileName } from "./profiles.js";
export { type CompiledQuery, compileQuery, InvalidRequest, runQuery } from "./query.js";
export { MAX_EMULATOR_RATE_LIMIT, RATE_WINDOW_MS, throttledDetails } from "./rateLimit.js";
export { type PreparedResponse, serializePreparedResponse } from "./responseCodec.js";
export { type EmulatorHandle, startEmulator } from "./server.js";
export { AuditLog } from "./store.js";
export { ALL_EVENT_TYPES } from "./vocabulary.js";
