/** The offline valley map: boundaries projection and geometry helpers (see projection.ts). */
export * from './projection.js';
