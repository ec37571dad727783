import { describe, expect, it } from '@jest/globals';
import { maySubscribe, publishDecision } from './acl.js';

const device = { type: 'device', id: 'chiesa-wf-01' } as const;
const operator = { type: 'user', id: 'anna', role: 'operator' } as const;
const viewer = { type: 'user', id: 'bruno', role: 'viewer' } as const;

describe('ACL', () => {
  it('lets a device publish only its readings and status', () => {
    expect(publishDecision(device, 'sensors/chiesa-wf-01/readings')).toBe('readings');
    expect(publishDecision(device, 'sensors/chiesa-wf-01/status')).toBe('status');
    expect(publishDecision(device, 'sensors/chiesa-wf-01/rejects')).toBe('deny');
    expect(publishDecision(device, 'sensors/other/readings')).toBe('deny');
    expect(publishDecision(device, 'valley/live/water/chiesa/water_flow/chiesa-wf-01')).toBe('deny');
    expect(publishDecision(device, 'sensors/chiesa-wf-01/readings/x')).toBe('deny');
    expect(publishDecision(operator, 'sensors/chiesa-wf-01/readings')).toBe('deny');
  });

  it('lets a device subscribe only to its rejects', () => {
    expect(maySubscribe(device, 'sensors/chiesa-wf-01/rejects')).toBe(true);
    expect(maySubscribe(device, 'sensors/+/rejects')).toBe(false);
    expect(maySubscribe(device, 'sensors/other/rejects')).toBe(false);
    expect(maySubscribe(device, '#')).toBe(false);
  });

  it('lets operators read valley/#, statuses and rejects; viewers nothing', () => {
    for (const f of ['valley/#', 'valley/live/water/#', 'sensors/+/status', 'sensors/x/rejects']) {
      expect(maySubscribe(operator, f)).toBe(true);
      expect(maySubscribe(viewer, f)).toBe(false);
    }
    for (const f of ['#', 'sensors/#', 'sensors/+/readings', '$SYS/#'])
      expect(maySubscribe(operator, f)).toBe(false);
  });
});
