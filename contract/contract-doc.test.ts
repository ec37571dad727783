/** docs/contract.md must say what the code does: every kind metric and every reject code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { KINDS, REJECT_CODES } from './index.js';

const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'contract.md'), 'utf8');

describe('docs/contract.md', () => {
  it('lists every metric of every kind with its unit and range', () => {
    const rows = doc.split('\n').filter((l) => /^\|\s*`[a-z_]+`\s*\|\s*(water|energy|mobility)\s*\|/.test(l));
    const expected: string[] = [];
    for (const kind of KINDS.values()) {
      for (const [metric, spec] of Object.entries(kind.metrics)) {
        expected.push(`${kind.id}|${kind.corridor}|${metric}|${spec.unit}|${spec.min} … ${spec.max}`);
      }
    }
    const documented = rows.map((row) => {
      const cells = row.split('|').map((c) => c.trim().replaceAll('`', ''));
      return cells.slice(1, 6).join('|');
    });
    expect(documented).toEqual(expected);
  });

  it('lists every reject code', () => {
    for (const code of REJECT_CODES) expect(doc).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`, 'm'));
  });
});
