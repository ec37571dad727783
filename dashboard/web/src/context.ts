/** What every view gets to render from: the language, the clock, the live state and lookups. */
import type { RoomSnapshot } from '../../aggregate/schemas.js';
import type { Locale } from '../../i18n/index.js';
import type { ConnectionState } from './live.js';
import type { RegistryView } from './schemas.js';

export type SnapshotOf<T extends RoomSnapshot['type']> = Extract<RoomSnapshot, { type: T }>;

export interface Lookup {
  siteName(id: string): string | null;
  site(id: string): RegistryView['sites'][number] | null;
  municipalityName(id: string): string | null;
  device(id: string): RegistryView['devices'][number] | null;
  devices: RegistryView['devices'];
  municipalities: RegistryView['municipalities'];
}

export interface Ctx {
  locale: Locale;
  /** The server's clock as best known (browser clock + offset from the last snapshot's `at`). */
  now: number;
  connection: ConnectionState;
  snapshot<T extends RoomSnapshot['type']>(room: string, type: T): SnapshotOf<T> | null;
  lookup: Lookup;
  /** Why the server refused a room of this view, or null. */
  refused(room: string): string | null;
  /** Asks for a new render (a view's own data arrived: history, status). */
  refresh(): void;
}

export interface View {
  /** Socket.IO rooms the view shows. */
  rooms(): string[];
  render(ctx: Ctx): Node;
  /** After the render is in the document: hook up what morph() must not rebuild (charts). */
  afterRender?(root: Element, ctx: Ctx): void;
  /** Timers and fetches stop here, when the person goes to another view. */
  dispose?(): void;
}

export function lookupOf(registry: RegistryView | null): Lookup {
  const sites = new Map(registry?.sites.map((s) => [s.id, s]));
  const municipalities = new Map(registry?.municipalities.map((m) => [m.id, m]));
  const devices = new Map(registry?.devices.map((d) => [d.id, d]));
  return {
    siteName: (id) => sites.get(id)?.name ?? null,
    site: (id) => sites.get(id) ?? null,
    municipalityName: (id) => municipalities.get(id)?.name ?? null,
    device: (id) => devices.get(id) ?? null,
    devices: registry?.devices ?? [],
    municipalities: registry?.municipalities ?? [],
  };
}
