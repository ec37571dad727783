import { describe, expect, it } from '@jest/globals';
import { describeCause, influxErrorText, parseRetryAfterMs, redactUrl } from './http.js';

const NOW = Date.UTC(2026, 10, 25, 6, 0, 0);

describe('parseRetryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates, and ignores anything else', () => {
    expect(parseRetryAfterMs('2', NOW)).toBe(2000);
    expect(parseRetryAfterMs(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfterMs('Wed, 25 Nov 2026 06:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfterMs('Wed, 25 Nov 2026 05:00:00 GMT', NOW)).toBe(0); // already past
    expect(parseRetryAfterMs('soon', NOW)).toBeUndefined();
    expect(parseRetryAfterMs('-1', NOW)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, NOW)).toBeUndefined();
  });
});

describe('influxErrorText', () => {
  it('takes the message of a 1.x or 2.x body, else the header, else the text', () => {
    expect(influxErrorText('{"error":"database not found: \\"x\\""}')).toBe('database not found: "x"');
    expect(influxErrorText('{"code":"invalid","message":"bad line"}')).toBe('bad line');
    expect(influxErrorText('404 page not found\n', 'from header')).toBe('from header');
    expect(influxErrorText('404 page not found\n')).toBe('404 page not found');
    expect(influxErrorText('')).toBe('(empty answer)');
  });
});

describe('redactUrl and describeCause', () => {
  it('drops user info from URLs shown in messages', () => {
    expect(redactUrl('http://admin:hunter2@influx.local:8086/')).toBe('http://influx.local:8086');
  });
  it('follows the cause chain of fetch errors', () => {
    const err = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    expect(describeCause(err)).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:1');
  });
});
