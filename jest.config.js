/** Jest strips TypeScript types natively (Node 24); no transformer is configured on purpose. */
export default {
  testEnvironment: 'node',
  transform: {},
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 20000,
  // How long a worker told to end may take to exit before jest kills it and warns of a leak. The default,
  // 500 ms, counts from the message being sent: on a starved machine (stress --cpu 2) the warning appeared
  // though both workers exited 1 ms after reading it, with no handle open. A real leak still keeps a worker
  // alive past 5 s and still prints the warning (docs/decisions.md).
  workerGracefulExitTimeout: 5000,
};
