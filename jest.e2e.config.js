/** The browser flows (npm run test:e2e): Debian's Chromium driven by playwright-core, one file at a time. */
import base from './jest.config.js';

export default { ...base, testMatch: ['<rootDir>/test/e2e/**/*.e2e.ts'], maxWorkers: 1, testTimeout: 60000 };
