/**
 * The dashboard page: checks the session (login page when the server requires one), then keeps a
 * Socket.IO connection with the rooms of the current view and renders on every snapshot. State is
 * replaced, never patched, by each snapshot, so what is shown is always one consistent server view.
 */
import type { RoomSnapshot } from '../../aggregate/schemas.js';
import { api, setUnauthorizedHandler } from './api.js';
import { lookupOf, type Ctx, type Lookup, type SnapshotOf, type View } from './context.js';
import { h, morphChildren } from './dom.js';
import { locale, setLocale, t } from './i18n.js';
import { LiveClient, type ConnectionState } from './live.js';
import { parseHash, type Route } from './router.js';
import type { Session } from './schemas.js';
import { deviceView } from './views/device.js';
import { historyView } from './views/history.js';
import { loginPage, type LoginState } from './views/login.js';
import { mapView } from './views/map.js';
import { overviewView } from './views/overview.js';
import { qualityView } from './views/quality.js';
import { banners, header, loading } from './views/shell.js';

/** Relative as-of texts ("3 min ago") age without any message from the server. */
const CLOCK_TICK_MS = 15_000;
const RETRY_MS = 5_000;
/** An invalid message is reported for a minute after the last one, then the banner goes. */
const PROBLEM_SHOWN_MS = 60_000;

function makeView(route: Route): View {
  switch (route.name) {
    case 'overview':
      return overviewView();
    case 'map':
      return mapView();
    case 'device':
      return deviceView(route.id);
    case 'history':
      return historyView(route.id, route.range);
    case 'quality':
      return qualityView();
  }
}

class App {
  private mode: 'boot' | 'login' | 'app' = 'boot';
  private session: Session | null = null;
  private route: Route = parseHash(location.hash);
  private view: View | null = null;
  private connection: ConnectionState = 'connecting';
  private readonly snapshots = new Map<string, RoomSnapshot>();
  private readonly refusedRooms = new Map<string, string>();
  private clockOffsetMs = 0;
  private lookup: Lookup = lookupOf(null);
  private problem: string | null = null;
  private problemTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly login: LoginState = { error: null, busy: false, expired: false };
  private frame = 0;
  private readonly live = new LiveClient({
    snapshot: (snap) => {
      this.snapshots.set(snap.room, snap);
      this.refusedRooms.delete(snap.room);
      this.clockOffsetMs = snap.at - Date.now();
      this.schedule();
    },
    connection: (state) => {
      this.connection = state;
      this.schedule();
    },
    session: (user) => {
      if (!this.session) return;
      this.session = { ...this.session, user };
      if (user === null && this.session.authRequired) this.showLogin(true);
      else this.schedule();
    },
    problem: (detail) => {
      this.problem = detail;
      clearTimeout(this.problemTimer);
      this.problemTimer = setTimeout(() => ((this.problem = null), this.schedule()), PROBLEM_SHOWN_MS);
      this.schedule();
    },
    refused: (room, reason) => {
      this.refusedRooms.set(room, reason);
      this.schedule();
    },
    denied: () => void this.checkSession(),
  });

  constructor(private readonly root: HTMLElement) {}

  start(): void {
    document.documentElement.lang = locale();
    setUnauthorizedHandler(() => {
      if (this.mode === 'app' && this.session?.authRequired) this.showLogin(true);
    });
    window.addEventListener('hashchange', () => this.navigate());
    setInterval(() => this.schedule(), CLOCK_TICK_MS);
    this.render();
    void this.checkSession();
  }

  private async checkSession(): Promise<void> {
    try {
      this.session = await api.session();
    } catch {
      // Server unreachable (restarting): the indicator says so; try again shortly.
      this.connection = 'reconnecting';
      this.schedule();
      setTimeout(() => void this.checkSession(), RETRY_MS);
      return;
    }
    if (this.session.authRequired && !this.session.user) this.showLogin(this.mode === 'app');
    else if (this.mode !== 'app') this.startApp();
  }

  private startApp(): void {
    this.mode = 'app';
    this.loadRegistry();
    this.live.start();
    this.navigate();
  }

  private loadRegistry(): void {
    api
      .registry()
      .then((registry) => {
        this.lookup = lookupOf(registry);
        this.schedule();
      })
      .catch(() => setTimeout(() => this.mode === 'app' && this.loadRegistry(), RETRY_MS));
  }

  private showLogin(expired: boolean): void {
    this.mode = 'login';
    this.login.expired = expired;
    this.live.stop();
    this.view?.dispose?.();
    this.view = null;
    this.snapshots.clear();
    this.connection = 'connecting';
    this.schedule();
  }

  private navigate(): void {
    if (this.mode !== 'app') return;
    this.route = parseHash(location.hash);
    this.view?.dispose?.();
    this.view = makeView(this.route);
    const rooms = this.view.rooms();
    // What another view showed is not kept: coming back waits for a fresh snapshot.
    for (const room of this.snapshots.keys()) if (!rooms.includes(room)) this.snapshots.delete(room);
    this.refusedRooms.clear();
    this.live.setRooms(rooms);
    this.schedule();
    window.scrollTo(0, 0);
  }

  private readonly actions = {
    setLocale: (next: Parameters<typeof setLocale>[0]) => {
      setLocale(next);
      this.schedule();
    },
    logout: () => {
      api
        .logout()
        .catch(() => undefined) // the session is gone either way for this page
        .finally(() => {
          this.live.stop();
          this.mode = 'boot';
          void this.checkSession();
        });
    },
    submitted: () => {
      this.mode = 'boot';
      void this.checkSession();
    },
    changed: () => this.schedule(),
  };

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private ctx(): Ctx {
    const snapshots = this.snapshots;
    return {
      locale: locale(),
      now: Date.now() + this.clockOffsetMs,
      connection: this.connection,
      snapshot<T extends RoomSnapshot['type']>(room: string, type: T): SnapshotOf<T> | null {
        const snap = snapshots.get(room);
        return snap && snap.type === type ? (snap as SnapshotOf<T>) : null;
      },
      lookup: this.lookup,
      refused: (room) => this.refusedRooms.get(room) ?? null,
      refresh: () => this.schedule(),
    };
  }

  private render(): void {
    const next = document.createElement('div');
    this.root.dataset.connection = this.connection;
    if (this.mode === 'login') {
      document.title = `${t('login.title')} · ${t('app.title')}`;
      next.append(loginPage(this.login, this.actions));
      morphChildren(this.root, next);
      return;
    }
    const ctx = this.ctx();
    const content = this.view ? this.view.render(ctx) : loading('app-loading');
    document.title = `${t(`nav.${this.route.name}`)} · ${t('app.title')}`;
    next.append(
      header(ctx, this.route, this.session?.user ?? null, this.actions),
      banners(ctx, this.problem),
      h('main', { class: 'content', id: 'content' }, content),
    );
    morphChildren(this.root, next);
    const main = this.root.querySelector('#content');
    if (main && this.view?.afterRender) this.view.afterRender(main, ctx);
  }
}

const root = document.getElementById('app');
if (root) new App(root).start();
