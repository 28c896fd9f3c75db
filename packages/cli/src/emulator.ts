/**
 * `clarifai-audit/emulator`: `@clarifai-audit/emulator`, re-exported for code written against the
 * single package.
 *
 * @packageDocumentation
 */
export * from "@clarifai-audit/emulator";
