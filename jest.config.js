/** Jest runs TypeScript as native ESM through SWC; tests talk to the real Redis, Postgres, MariaDB and ffmpeg. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts', '<rootDir>/apps/*/test/**/*.test.ts'],
  testTimeout: 120000,
  // build output and local state (the production file set the benchmarks assemble) are not sources
  modulePathIgnorePatterns: ['<rootDir>/.tessera/', '<rootDir>/.turbo/', '/dist/'],
};
