/**
 * snake_case ↔ camelCase for field and kind names: the protos and REST JSON write `model_version`
 * and `app_id`, the ts-proto objects and the library's short forms `modelVersion` and `appId`.
 */

/** `model_version` → `modelVersion` (only an underscore before a lowercase letter is folded). */
export function snakeToCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `modelVersion` → `model_version`. */
export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
