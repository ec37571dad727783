import { describe, expect, it } from '@jest/globals';
import type { Client } from 'aedes';
import { Sessions } from './sessions.js';

const device = { type: 'device', id: 'd-1' } as const;
const conn = (): Client & { closed: boolean } => ({ closed: false }) as Client & { closed: boolean };

describe('Sessions: takeovers by the same device id', () => {
  it('a plain connection: its end makes the device offline', () => {
    const s = new Sessions();
    const a = conn();
    s.authenticated(device, a);
    s.add(device, a);
    expect(s.replaced(device, a)).toBe(false);
    a.closed = true;
    expect(s.deviceEnded(device, a)).toBe(true);
    expect(s.deviceIds()).toEqual([]);
  });

  it('the replaced connection ends (before the newer one is ready): no offline, its status is dropped', () => {
    const s = new Sessions();
    const a = conn();
    const b = conn();
    s.authenticated(device, a);
    s.add(device, a);
    s.authenticated(device, b);
    expect(s.replaced(device, a)).toBe(true);
    expect(s.replaced(device, b)).toBe(false);
    a.closed = true;
    expect(s.deviceEnded(device, a)).toBe(false);
    s.add(device, b);
    expect(s.deviceIds()).toEqual(['d-1']);
    b.closed = true;
    expect(s.deviceEnded(device, b)).toBe(true);
  });

  it('a successor that took over and died before it was ready ends the device', () => {
    const s = new Sessions();
    const a = conn();
    const b = conn();
    s.authenticated(device, a);
    s.add(device, a);
    s.authenticated(device, b);
    a.closed = true;
    expect(s.deviceEnded(device, a)).toBe(false);
    b.closed = true;
    expect(s.deviceEnded(device, b)).toBe(true);
  });

  it('a newer login that closed before Aedes registered it does not mask the current session', () => {
    const s = new Sessions();
    const a = conn();
    const b = conn();
    s.authenticated(device, a);
    s.add(device, a);
    s.authenticated(device, b);
    b.closed = true; // never registered: Aedes reports no end for it
    expect(s.replaced(device, a)).toBe(false);
    a.closed = true;
    expect(s.deviceEnded(device, a)).toBe(true);
  });
});
