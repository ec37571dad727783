import { describe, expect, it } from '@jest/globals';
import { filterReachesUnder, filterWithin, parseSensorTopic, topics } from './topics.js';

describe('topics', () => {
  it('builds and parses sensor topics', () => {
    expect(topics.readings('chiesa-wf-01')).toBe('sensors/chiesa-wf-01/readings');
    expect(parseSensorTopic('sensors/chiesa-wf-01/readings')).toEqual({
      deviceId: 'chiesa-wf-01',
      channel: 'readings',
    });
    expect(parseSensorTopic('sensors/chiesa-wf-01/status')).toEqual({
      deviceId: 'chiesa-wf-01',
      channel: 'status',
    });
  });

  it.each([
    'sensors/a/readings/extra',
    'sensors/+/readings',
    'sensors/A B/readings',
    'valley/live/x',
    'sensors//readings',
  ])('refuses %s', (topic) => {
    expect(parseSensorTopic(topic)).toBeNull();
  });

  it('decides whether a filter stays inside an allowed filter', () => {
    expect(filterWithin('valley/#', 'valley/#')).toBe(true);
    expect(filterWithin('valley/live/water/#', 'valley/#')).toBe(true);
    expect(filterWithin('sensors/+/status', 'sensors/+/status')).toBe(true);
    expect(filterWithin('sensors/dev-1/status', 'sensors/+/status')).toBe(true);
    expect(filterWithin('sensors/#', 'sensors/+/status')).toBe(false);
    expect(filterWithin('sensors/+/readings', 'sensors/+/status')).toBe(false);
    expect(filterWithin('#', 'valley/#')).toBe(false);
    expect(filterWithin('+/live/#', 'valley/#')).toBe(false);
  });
});

describe('filterReachesUnder', () => {
  it('tells which subscriptions can receive topics under a prefix', () => {
    const reaches = (filter: string) => filterReachesUnder(filter, 'valley/live');
    expect(
      ['valley/#', '#', 'valley/live/#', 'valley/+/water/#', 'valley/live/water/+/+/+'].map(reaches),
    ).toEqual([true, true, true, true, true]);
    expect(['valley/alerts/#', 'valley/live', 'sensors/+/status', 'valley', 'valley/+'].map(reaches)).toEqual(
      [false, false, false, false, false],
    );
  });
});
