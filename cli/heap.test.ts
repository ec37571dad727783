import { describe, expect, it } from '@jest/globals';
import { tuneHeap } from './heap.js';

describe('tuneHeap', () => {
  it('sets the growth factor when the operator gave none', () => {
    expect(tuneHeap([])).toBe(true);
    expect(tuneHeap(['--max-old-space-size=512', '--enable-source-maps'])).toBe(true);
  });

  it('leaves a factor given on the command line alone', () => {
    expect(tuneHeap(['--heap-growing-percent=50'])).toBe(false);
    expect(tuneHeap(['--trace-gc', '--heap_growing_percent=30'])).toBe(false);
  });
});
