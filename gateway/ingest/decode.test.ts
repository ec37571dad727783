import { describe, expect, it } from '@jest/globals';
import { decodePayload } from './decode.js';

const buf = (s: string) => Buffer.from(s, 'utf8');

describe('decodePayload', () => {
  it('decodes one reading or a backlog array', () => {
    expect(decodePayload(buf('{"ts":1,"values":{}}'), 10)).toEqual({
      ok: true,
      elements: [{ ts: 1, values: {} }],
      isArray: false,
    });
    expect(decodePayload(buf('[{"a":1},{"b":2}]'), 10)).toMatchObject({ ok: true, isArray: true });
  });

  it.each([
    ['empty payload', Buffer.alloc(0)],
    ['malformed JSON', buf('{"ts": 1,')],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['NaN as text', buf('{"ts":NaN}')],
  ])('refuses %s with E_JSON', (_name, payload) => {
    expect(decodePayload(payload, 10)).toMatchObject({ ok: false, code: 'E_JSON' });
  });

  it('survives deep nesting (the element is then refused by validation)', () => {
    const r = decodePayload(buf('['.repeat(200_000) + ']'.repeat(200_000)), 10);
    expect(r).toMatchObject({ ok: true, isArray: true });
    expect(r.ok && r.elements).toHaveLength(1);
  });

  it('refuses arrays beyond the per-message limit with E_TOO_MANY_READINGS', () => {
    const r = decodePayload(buf(JSON.stringify(new Array(11).fill({}))), 10);
    expect(r).toMatchObject({ ok: false, code: 'E_TOO_MANY_READINGS' });
  });

  it.each(['42', '"text"', 'null', '[]', 'true'])('refuses %s with E_SCHEMA', (text) => {
    expect(decodePayload(buf(text), 10)).toMatchObject({ ok: false, code: 'E_SCHEMA' });
  });
});
