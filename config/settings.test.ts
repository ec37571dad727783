import { describe, expect, it } from '@jest/globals';
import { formatDuration, parseDurationMs, parseSizeBytes } from './duration.js';
import {
  defaultSettings,
  MAX_DURATION_MS,
  resolveSettings,
  SETTING_DEFS,
  SettingsError,
} from './settings.js';

/** The problems of a resolve that must fail. */
function problems(env: NodeJS.ProcessEnv, flags: Record<string, string | boolean> = {}): string[] {
  try {
    resolveSettings(env, flags);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  throw new Error('expected a SettingsError');
}

describe('resolveSettings precedence', () => {
  it('uses the defaults with an empty environment: loopback, local-only', () => {
    const { settings, sink } = resolveSettings({});
    expect(settings).toEqual(defaultSettings());
    expect(settings).toMatchObject({ bind: '127.0.0.1', mqttPort: 1883, wsPort: 8083, httpPort: 3000 });
    expect(settings.registryPath).toBe('config/valmalenco.yaml');
    expect(sink).toEqual({ mode: 'local-only' });
  });

  it('takes a flag over an env var over the default', () => {
    const env = { VALLEY_MQTT_PORT: '1900', VALLEY_HTTP_PORT: '3100' };
    const { settings } = resolveSettings(env, { 'mqtt-port': '2000' });
    expect(settings.mqttPort).toBe(2000); // flag
    expect(settings.httpPort).toBe(3100); // env
    expect(settings.wsPort).toBe(8083); // default
  });

  it('treats an empty env var as unset', () => {
    expect(resolveSettings({ VALLEY_BIND: '', INFLUX_URL: '' }).settings.bind).toBe('127.0.0.1');
  });

  it('reads booleans from env and from --flag / --no-flag', () => {
    expect(resolveSettings({ VALLEY_DEMO_FLEET: 'off' }).settings.demoFleet).toBe(false);
    expect(resolveSettings({ VALLEY_DEMO_FLEET: 'off' }, { 'demo-fleet': true }).settings.demoFleet).toBe(
      true,
    );
    expect(resolveSettings({}, { 'no-demo-fleet': true }).settings.demoFleet).toBe(false);
    expect(problems({ VALLEY_DEMO_FLEET: 'maybe' })).toEqual([
      expect.stringMatching(/VALLEY_DEMO_FLEET.*true\/false/),
    ]);
  });
});

describe('durations and sizes', () => {
  it('parse the units people write', () => {
    expect(parseDurationMs('1500')).toBe(1500);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs(' 7d ')).toBe(604_800_000);
    expect(parseSizeBytes('1048576')).toBe(1_048_576);
    expect(parseSizeBytes('512KiB')).toBe(524_288);
    expect(parseSizeBytes('64MiB')).toBe(67_108_864);
    expect(parseSizeBytes('1GB')).toBe(1_000_000_000);
    expect(parseSizeBytes('2mib')).toBe(2_097_152);
  });

  it('refuse what they cannot read', () => {
    for (const bad of ['', 'soon', '-5s', '5 minutes', '1e3s']) expect(parseDurationMs(bad)).toBeUndefined();
    for (const bad of ['', 'big', '-1MiB', '5 TB']) expect(parseSizeBytes(bad)).toBeUndefined();
  });

  it('format back to the largest whole unit', () => {
    expect([formatDuration(604_800_000), formatDuration(120_000), formatDuration(1500)]).toEqual([
      '7d',
      '2m',
      '1500ms',
    ]);
  });

  it('reach the settings from env and flags, and bad values name their variable and flag', () => {
    const { settings } = resolveSettings(
      { VALLEY_FUTURE_SKEW: '90s', VALLEY_MAX_PACKET: '2MiB' },
      { 'late-window': '3d', 'segment-size': '8MiB' },
    );
    expect(settings).toMatchObject({
      futureSkewMs: 90_000,
      maxPacketBytes: 2_097_152,
      lateWindowMs: 259_200_000,
      segmentBytes: 8_388_608,
    });
    expect(problems({ VALLEY_LATE_WINDOW: 'a week' })).toEqual([
      'VALLEY_LATE_WINDOW / --late-window: "a week" is not a duration (e.g. 500ms, 90s, 2m, 7d)',
    ]);
    expect(problems({}, { 'max-packet': 'huge' })).toEqual([
      'VALLEY_MAX_PACKET / --max-packet: "huge" is not a size (e.g. 1048576, 64MiB)',
    ]);
  });

  it('checks ranges after parsing, naming the setting', () => {
    expect(problems({ VALLEY_MAX_PACKET: '10' })).toEqual([
      expect.stringMatching(/^VALLEY_MAX_PACKET \/ --max-packet: /),
    ]);
    expect(problems({ VALLEY_MQTT_PORT: '70000' })).toEqual([
      expect.stringMatching(/^VALLEY_MQTT_PORT \/ --mqtt-port: /),
    ]);
    expect(problems({ VALLEY_HTTP_PORT: 'eighty' })).toEqual([
      'VALLEY_HTTP_PORT / --http-port: "eighty" is not a whole number',
    ]);
  });

  it('refuses every duration a timer cannot wait (above 2^31 − 1 ms), naming its variable and flag', () => {
    const durations = Object.values(SETTING_DEFS).filter((d) => d.parse === 'duration');
    expect(durations.length).toBeGreaterThan(10);
    for (const def of durations) {
      expect(problems({ [def.env]: `${2 ** 31}ms` })).toEqual([
        expect.stringMatching(
          new RegExp(`^${def.env} / --${def.flag}: (at most ${MAX_DURATION_MS} ms|Too big)`),
        ),
      ]);
      expect(problems({}, { [def.flag]: '30d' })).toEqual([
        expect.stringContaining(`${def.env} / --${def.flag}`),
      ]);
    }
    expect(problems({ VALLEY_BACKOFF_MAX: '9999999s' })).toEqual([
      "VALLEY_BACKOFF_MAX / --backoff-max: at most 2147483647 ms (24d 20h 31m): longer delays overflow Node's timers",
    ]);
    // The longest one is still accepted.
    expect(resolveSettings({ VALLEY_BACKOFF_MAX: `${MAX_DURATION_MS}ms` }).settings.drainBackoffMaxMs).toBe(
      MAX_DURATION_MS,
    );
  });
});

describe('sink mode', () => {
  const url = 'http://127.0.0.1:8086';

  it('is v2 with URL, token, org and bucket', () => {
    const env = { INFLUX_URL: url, INFLUX_TOKEN: 't', INFLUX_ORG: 'valley', INFLUX_BUCKET: 'telemetry' };
    expect(resolveSettings(env).sink).toEqual({
      mode: 'v2',
      url,
      token: 't',
      org: 'valley',
      bucket: 'telemetry',
    });
  });

  it('is v1 with URL and database (user and password optional, together)', () => {
    expect(resolveSettings({ INFLUX_URL: url, INFLUX_DB: 'valley' }).sink).toEqual({
      mode: 'v1',
      url,
      db: 'valley',
    });
    const env = { INFLUX_URL: url, INFLUX_DB: 'valley', INFLUX_USERNAME: 'gw', INFLUX_PASSWORD: 'pw' };
    expect(resolveSettings(env).sink).toMatchObject({ mode: 'v1', username: 'gw', password: 'pw' });
    expect(problems({ INFLUX_URL: url, INFLUX_DB: 'valley', INFLUX_USERNAME: 'gw' })).toEqual([
      expect.stringContaining('INFLUX_USERNAME and INFLUX_PASSWORD go together'),
    ]);
  });

  it('names the missing INFLUX_* variables of an incomplete v2 setup', () => {
    const [problem] = problems({ INFLUX_URL: url, INFLUX_TOKEN: 't' });
    expect(problem).toContain('missing INFLUX_ORG, INFLUX_BUCKET');
    expect(problems({ INFLUX_URL: url, INFLUX_BUCKET: 'b' })[0]).toContain(
      'missing INFLUX_TOKEN, INFLUX_ORG',
    );
  });

  it('names what is missing when only the URL is set, or only the database', () => {
    expect(problems({ INFLUX_URL: url })[0]).toMatch(
      /INFLUX_DB.*INFLUX_TOKEN \+ INFLUX_ORG \+ INFLUX_BUCKET/,
    );
    expect(problems({ INFLUX_DB: 'valley' })).toEqual(['INFLUX_URL is missing, but INFLUX_DB is set']);
    expect(problems({}, { 'influx-token': 't', 'influx-org': 'o' })).toEqual([
      'INFLUX_URL is missing, but INFLUX_TOKEN, INFLUX_ORG is set',
    ]);
  });

  it('refuses both APIs at once and a URL that is not http(s)', () => {
    const both = { INFLUX_URL: url, INFLUX_DB: 'd', INFLUX_TOKEN: 't', INFLUX_ORG: 'o', INFLUX_BUCKET: 'b' };
    expect(problems(both)).toEqual([expect.stringContaining('choose one')]);
    expect(problems({ INFLUX_URL: 'ftp://db.example', INFLUX_DB: 'd' })).toEqual([
      'INFLUX_URL / --influx-url: must be an http(s) URL',
    ]);
  });
});

describe('flags', () => {
  it('refuses an unknown flag, together with every other problem', () => {
    const err = (() => {
      try {
        resolveSettings({ VALLEY_MQTT_PORT: 'x' }, { 'mqtt-prot': '1884', bogus: true });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SettingsError);
    expect((err as SettingsError).code).toBe('E_SETTINGS');
    expect((err as SettingsError).problems).toEqual([
      '--mqtt-prot: unknown option',
      '--bogus: unknown option',
      'VALLEY_MQTT_PORT / --mqtt-port: "x" is not a whole number',
    ]);
    expect((err as SettingsError).message).toContain('--bogus: unknown option');
  });

  it('lets the programmatic overrides win, for tests and embedding', () => {
    const { settings } = resolveSettings(
      { VALLEY_HTTP_PORT: '3100' },
      { 'http-port': '3200' },
      { httpPort: 0 },
    );
    expect(settings.httpPort).toBe(0);
  });
});

describe('operations settings', () => {
  it('reads the outbox cap and the alert thresholds as a size and durations', () => {
    const { settings } = resolveSettings(
      { VALLEY_OUTBOX_MAX: '64MiB', VALLEY_OFFLINE_GRACE: '90s' },
      {
        'sink-down-after': '2m',
      },
    );
    expect(settings).toMatchObject({
      outboxMaxBytes: 64 * 1024 ** 2,
      offlineGraceMs: 90_000,
      sinkDownAfterMs: 120_000,
    });
    expect(defaultSettings()).toMatchObject({
      outboxMaxBytes: 2 * 1024 ** 3,
      offlineGraceMs: 60_000,
      sinkDownAfterMs: 60_000,
    });
    expect(problems({ VALLEY_OUTBOX_MAX: 'lots' })).toEqual([
      expect.stringContaining('VALLEY_OUTBOX_MAX / --outbox-max'),
    ]);
  });
});
