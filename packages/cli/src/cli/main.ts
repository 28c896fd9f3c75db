#!/usr/bin/env node
/**
 * The `clarifai-audit` bin: runs packages/cli/src/cli/cli.ts's `main` with the process's arguments, environment and
 * streams, and exits with its code.
 */
import "./warnings.js";
import { main } from "./cli.js";

process.exit(await main(process.argv.slice(2), process.env));
