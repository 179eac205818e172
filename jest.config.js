/** Tests run from the TypeScript sources through swc; `tsc` type-checks them in `npm run build`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/common', '<rootDir>/master', '<rootDir>/agent', '<rootDir>/frameworks', '<rootDir>/cli', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60000,
};
