import type { Command } from "commander";

// Placeholder until the CLI issue lands; replaced wholesale by its implementation.
export function registerSearchCommand(_program: Command): void {}
