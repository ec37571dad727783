import { describe, expect, it } from '@jest/globals';
import { hashPassword } from '../config/secrets.js';
import { makeTestRegistry } from '../test/support/registry.js';
import { Authenticator, CONNACK } from './authenticator.js';

describe('Authenticator', () => {
  const registryPromise = (async () => {
    const password = 'operator-password-1';
    const reg = makeTestRegistry(
      [],
      [
        { id: 'ops-anna', role: 'operator', password_hash: await hashPassword(password) },
        { id: 'view-bruno', role: 'viewer', password_hash: await hashPassword(password) },
      ],
    );
    return { reg, password };
  })();

  it('accepts a device with its secret and refuses a wrong one and an unknown id alike', async () => {
    const { reg } = await registryPromise;
    const auth = new Authenticator(() => reg.index);
    const id = 't-flow-1';
    expect(await auth.check(id, id, Buffer.from(reg.secrets[id]!), 'a')).toEqual({
      ok: true,
      identity: { type: 'device', id },
    });
    const wrong = await auth.check(id, id, Buffer.from('nope'), 'a');
    const unknown = await auth.check('ghost', 'ghost', Buffer.from('nope'), 'a');
    expect(wrong).toMatchObject({ ok: false, returnCode: CONNACK.badCredentials, countsAsGuess: true });
    expect(unknown).toMatchObject({ ok: false, returnCode: CONNACK.badCredentials, countsAsGuess: true });
    expect(await auth.check(id, 'other', Buffer.from(reg.secrets[id]!), 'a')).toMatchObject({
      ok: false,
      returnCode: CONNACK.identifierRejected,
    });
  });

  it('accepts an operator, refuses a viewer before hashing', async () => {
    const { reg, password } = await registryPromise;
    const auth = new Authenticator(() => reg.index);
    expect(await auth.check('ops-anna', 'ops-anna', Buffer.from(password), 'a')).toMatchObject({
      ok: true,
      identity: { type: 'user', id: 'ops-anna', role: 'operator' },
    });
    expect(await auth.check('view-bruno', 'view-bruno', Buffer.from(password), 'a')).toMatchObject({
      ok: false,
      returnCode: CONNACK.notAuthorized,
    });
  });

  it('bounds concurrent password checks: beyond the limits it answers "server unavailable" at once', async () => {
    const { reg } = await registryPromise;
    const auth = new Authenticator(() => reg.index, { concurrent: 1, queued: 2, perAddress: 2 });
    // One address may have two checks pending; the third is refused without hashing.
    const sameAddress = await Promise.all(
      [1, 2, 3].map(() => auth.check('ops-anna', 'ops-anna', Buffer.from('guess'), '10.0.0.1')),
    );
    expect(sameAddress.filter((r) => !r.ok && r.returnCode === CONNACK.serverUnavailable)).toHaveLength(1);
    // Many addresses: one running + two queued; the rest refused at once.
    const flood = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        auth.check('ops-anna', 'ops-anna', Buffer.from('guess'), `10.0.1.${i}`),
      ),
    );
    const refusedAtOnce = flood.filter((r) => !r.ok && r.returnCode === CONNACK.serverUnavailable);
    const checked = flood.filter((r) => !r.ok && r.returnCode === CONNACK.badCredentials);
    expect(checked).toHaveLength(3);
    expect(refusedAtOnce).toHaveLength(7);
    // The limits are released: a later check runs.
    expect(
      await auth.check('ops-anna', 'ops-anna', Buffer.from('operator-password-1'), '10.0.0.1'),
    ).toMatchObject({
      ok: true,
    });
  });
});
