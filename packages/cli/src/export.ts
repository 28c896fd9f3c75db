/**
 * `clarifai-audit/export`: the export engine of `@clarifai-audit/client/export`, re-exported for
 * code written against the single package.
 *
 * @packageDocumentation
 */
export * from "@clarifai-audit/client/export";
