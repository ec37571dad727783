import { describe, expect, it } from '@jest/globals';
import { LogBudget } from './log-budget.js';

describe('LogBudget', () => {
  it('logs the first line at once, then one per interval with the count left out', () => {
    let now = 0;
    const budget = new LogBudget({ now: () => now }, 60_000);
    expect(budget.take('a')).toBe(0);
    for (let i = 0; i < 500; i++) expect(budget.take('a')).toBeUndefined();
    expect(budget.take('b')).toBe(0); // another device is not silenced by the first
    now += 59_999;
    expect(budget.take('a')).toBeUndefined();
    now += 1;
    expect(budget.take('a')).toBe(501);
    expect(budget.take('a')).toBeUndefined();
  });

  it('keeps a quiet key only as long as it owes a count', () => {
    let now = 0;
    const budget = new LogBudget({ now: () => now }, 1000);
    expect(budget.take('quiet')).toBe(0);
    expect(budget.take('noisy')).toBe(0);
    expect(budget.take('noisy')).toBeUndefined();
    now += 5000;
    expect(budget.take('other')).toBe(0);
    // 'noisy' still owes its one suppressed line; 'quiet' was forgotten (a fresh start, count 0).
    expect(budget.take('noisy')).toBe(1);
    expect(budget.take('quiet')).toBe(0);
  });
});
