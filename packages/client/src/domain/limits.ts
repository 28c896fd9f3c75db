/**
 * The API's page-size limits, for the client's validation, the CLI's flags and the emulator's
 * checks alike. No imports: the CLI reads them to print its help without loading the client.
 */

/** Page size the API uses when none is given. */
export const DEFAULT_PER_PAGE = 128;
/** Largest page the API serves. */
export const MAX_PER_PAGE = 1000;
/** Attempts per call of the bulk commands (export, sync, live report): a long walk rides out more trouble. */
export const EXPORT_MAX_ATTEMPTS = 10;
