/**
 * ESM TypeScript through ts-jest; type checking is `tsc --noEmit`'s job, so tests only transpile.
 * The packages' names resolve to their sources (as in tsconfig.json's paths), so tests need no build.
 */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: {
    "^@clarifai-audit/client$": "<rootDir>/packages/client/src/index.ts",
    "^@clarifai-audit/client/export$": "<rootDir>/packages/client/src/export/index.ts",
    "^@clarifai-audit/client/internal/generated/(.*)\\.js$": "<rootDir>/packages/client/generated/$1",
    "^@clarifai-audit/client/internal/(.*)\\.js$": "<rootDir>/packages/client/src/$1",
    "^@clarifai-audit/emulator$": "<rootDir>/packages/emulator/src/index.ts",
    "^@clarifai-audit/emulator/internal/(.*)\\.js$": "<rootDir>/packages/emulator/src/$1",
    "^clarifai-audit$": "<rootDir>/packages/cli/src/index.ts",
    "^clarifai-audit/export$": "<rootDir>/packages/cli/src/export.ts",
    "^clarifai-audit/emulator$": "<rootDir>/packages/cli/src/emulator.ts",
    "^clarifai-audit/internal/(.*)\\.js$": "<rootDir>/packages/cli/src/$1",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json" }],
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  // Built packages and packed copies are not test sources (and their package.json names repeat).
  modulePathIgnorePatterns: ["<rootDir>/packages/[^/]+/dist/", "<rootDir>/dist/"],
  testTimeout: 60000,
  // Most suites wait on sockets and child processes, so both cores of the CI machine are worth using.
  maxWorkers: 2,
};
