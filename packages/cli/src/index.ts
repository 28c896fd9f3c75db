/**
 * `clarifai-audit` as a library: the client's public API, re-exported so that code written
 * against the single package (`import { AuditLogClient } from "clarifai-audit"`) keeps working.
 * New code that needs only the client depends on `@clarifai-audit/client`, which installs without
 * the CLI's dependencies (DuckDB, PostgreSQL, Chromium's driver, vega).
 *
 * @packageDocumentation
 */
export * from "@clarifai-audit/client";
