import type { Command } from "commander";

// Placeholder until the emulator issue lands; replaced wholesale by its implementation.
export function registerEmulatorCommand(_program: Command): void {}
