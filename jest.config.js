// Plain JS: a .ts config would need ts-node. ts-jest runs with isolatedModules (no type check here;
// `npm run check` runs tsc), which keeps the suite fast.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/data/', '/dist/'],
  // The compiled build (npm run build) mirrors the sources; Jest runs the sources.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  // Integration suites start real servers (InfluxDB, Aedes, child processes); two workers on two cores.
  maxWorkers: 2,
  testTimeout: 60_000,
};
