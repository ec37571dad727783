import { describe, expect, it } from '@jest/globals';
import { tuneHeap } from './heap.js';

/** The flags tuneHeap would set for this command line, without touching this process's V8. */
function tuned(execArgv: string[]): { answered: string[]; set: string[] } {
  const set: string[] = [];
  const answered = tuneHeap(execArgv, (flag) => set.push(flag));
  return { answered, set };
}

describe('tuneHeap', () => {
  const both = ['--heap-growing-percent=100', '--no-allocation-site-pretenuring'];

  it('sets the growth factor and turns pretenuring off when the operator gave neither', () => {
    expect(tuned([])).toEqual({ answered: both, set: both });
    expect(tuned(['--max-old-space-size=512', '--enable-source-maps'])).toEqual({
      answered: both,
      set: both,
    });
  });

  it('leaves a flag given on the command line alone, in any spelling V8 takes', () => {
    expect(tuned(['--heap-growing-percent=50']).set).toEqual(['--no-allocation-site-pretenuring']);
    expect(tuned(['--trace-gc', '--heap_growing_percent=30']).set).toEqual([
      '--no-allocation-site-pretenuring',
    ]);
    for (const given of [
      '--allocation-site-pretenuring',
      '--no-allocation-site-pretenuring',
      '--no_allocation_site_pretenuring',
      '--noallocation-site-pretenuring',
    ])
      expect({ given, set: tuned([given]).set }).toEqual({ given, set: ['--heap-growing-percent=100'] });
    expect(tuned(['--no-allocation-site-pretenuring', '--heap-growing-percent=100']).set).toEqual([]);
  });
});
