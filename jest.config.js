/** ESM TypeScript through ts-jest; type checking is `tsc --noEmit`'s job, so tests only transpile. */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json" }],
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  testTimeout: 60000,
  // Most suites wait on sockets and child processes, so both cores of the CI machine are worth using.
  maxWorkers: 2,
};
