/** The dashboard's languages: catalogues (Italian default, English) and format helpers. */
export { en } from './en.js';
export * from './format.js';
export { it, type Catalogue, type MessageKey } from './it.js';
