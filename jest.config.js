/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  snapshotResolver: '<rootDir>/test/snapshot-resolver.js',
  setupFilesAfterEnv: ['<rootDir>/test/setup.js'],
  maxWorkers: 2,
  // The summary reporter first: its short naming of a failed test comes before jest's full report.
  reporters: ['<rootDir>/test/summary-reporter.js', 'default'],
};
