/** The dashboard's pure aggregation: see engine.ts for how the server feeds and reads it. */
export { feedFromBus } from './bus-feed.js';
export { DashboardAggregator, type AggregatorOptions } from './engine.js';
export { STALE_INTERVALS } from './presence.js';
export { previousRomeDay, romeDay, sameTimePreviousDay, VALLEY_TIME_ZONE } from './rome-time.js';
export * from './rooms.js';
export * from './schemas.js';
export { WATER_QUALITY_LIMITS } from './water-quality.js';
