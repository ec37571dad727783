import { describe, expect, it } from '@jest/globals';
import { tuneHeap } from './heap.js';

describe('tuneHeap', () => {
  it('sets the growth factor and turns pretenuring off when the operator gave neither', () => {
    const both = ['--heap-growing-percent=100', '--no-allocation-site-pretenuring'];
    expect(tuneHeap([])).toEqual(both);
    expect(tuneHeap(['--max-old-space-size=512', '--enable-source-maps'])).toEqual(both);
  });

  it('leaves a flag given on the command line alone, in either spelling', () => {
    expect(tuneHeap(['--heap-growing-percent=50'])).toEqual(['--no-allocation-site-pretenuring']);
    expect(tuneHeap(['--trace-gc', '--heap_growing_percent=30'])).toEqual([
      '--no-allocation-site-pretenuring',
    ]);
    expect(tuneHeap(['--allocation-site-pretenuring'])).toEqual(['--heap-growing-percent=100']);
    expect(tuneHeap(['--no_allocation_site_pretenuring', '--heap-growing-percent=100'])).toEqual([]);
  });
});
