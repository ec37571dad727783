export * from './alert.js';
export * from './bus.js';
export * from './codes.js';
export * from './kinds/index.js';
export * from './reading.js';
export * from './reject.js';
export * from './timestamp.js';
export * from './topics.js';
