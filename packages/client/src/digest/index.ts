/**
 * Signed logs (docs/verifiable-logs.md): RFC 6962 Merkle trees over the entries' lines, Ed25519 keys,
 * and the chain of signed digests a destination writes with each commit.
 */
export * from "./chain.js";
export * from "./document.js";
export * from "./keys.js";
export * from "./leaves.js";
export * from "./merkle.js";
