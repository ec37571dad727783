/** Machine-readable results of `valley simulate`: JUnit XML (one testcase per fault type and one for valid readings) and JSON. */
import { describeExpected, FAULTS } from './faults.js';
import type { LabelKind, Summary } from './outcomes.js';

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/g, '');
}

const MAX_LISTED = 50;

export function junitReport(summary: Summary, elapsedSeconds: number): string {
  const kinds = Object.keys(summary.results) as LabelKind[];
  const cases = kinds.map((kind) => {
    const r = summary.results[kind]!;
    const expected =
      kind === 'valid' ? describeExpected({ type: 'accept' }) : describeExpected(FAULTS[kind].expected);
    const name = kind === 'valid' ? 'valid readings' : `fault ${kind}`;
    const head = `    <testcase classname="valley.simulate" name="${xml(`${name}: ${expected}`)}" time="0">`;
    if (r.mismatches.length === 0) {
      return `${head}\n      <system-out>${r.injected} sent, ${r.asExpected} as expected</system-out>\n    </testcase>`;
    }
    const listed = r.mismatches.slice(0, MAX_LISTED).join('\n');
    const more = r.mismatches.length > MAX_LISTED ? `\n… and ${r.mismatches.length - MAX_LISTED} more` : '';
    return (
      `${head}\n      <failure message="${xml(`${r.mismatches.length} of ${r.injected} not as expected`)}" type="mismatch">` +
      `${xml(listed + more)}</failure>\n    </testcase>`
    );
  });
  const other = summary.mismatches.filter(
    (m) => !kinds.some((k) => summary.results[k]!.mismatches.includes(m)),
  );
  if (other.length > 0) {
    cases.push(
      `    <testcase classname="valley.simulate" name="connections and unmatched rejects" time="0">\n` +
        `      <failure message="${other.length} problem(s)" type="mismatch">${xml(other.slice(0, MAX_LISTED).join('\n'))}</failure>\n    </testcase>`,
    );
  }
  const failures = cases.filter((c) => c.includes('<failure')).length;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="valley simulate" tests="${cases.length}" failures="${failures}" time="${elapsedSeconds.toFixed(1)}">\n` +
    `  <testsuite name="valley simulate" tests="${cases.length}" failures="${failures}" errors="0" time="${elapsedSeconds.toFixed(1)}">\n` +
    `    <properties>\n` +
    `      <property name="devices" value="${summary.devices}"/>\n` +
    `      <property name="window" value="${xml(`${summary.window.from} .. ${summary.window.to} (speed ${summary.window.speed})`)}"/>\n` +
    `    </properties>\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`
  );
}

export function jsonReport(summary: Summary, elapsedSeconds: number): string {
  return `${JSON.stringify({ version: 1, elapsedSeconds, ...summary }, null, 2)}\n`;
}

/** The human summary printed at the end of a run. */
export function formatSummary(summary: Summary): string[] {
  const lines = [
    `devices ${summary.devices}, window ${summary.window.from} .. ${summary.window.to} (speed ${summary.window.speed})`,
    `sent ${summary.sent.messages} messages (${summary.sent.readings} readings), acknowledged ${summary.acknowledged}, ` +
      `accepted ${summary.accepted} readings, duplicates ${summary.duplicates}`,
    `rejected: ${
      Object.entries(summary.rejected)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ') || 'none'
    }`,
  ];
  for (const [kind, r] of Object.entries(summary.results)) {
    const mark = r.mismatches.length === 0 ? 'ok ' : 'FAIL';
    lines.push(`  ${mark} ${kind.padEnd(15)} ${String(r.injected).padStart(6)} sent, expected ${r.expected}`);
  }
  for (const s of summary.skipped) lines.push(`  skipped: ${s}`);
  lines.push(`mismatches: ${summary.mismatches.length}`);
  for (const m of summary.mismatches.slice(0, 20)) lines.push(`  - ${m}`);
  if (summary.mismatches.length > 20)
    lines.push(`  … and ${summary.mismatches.length - 20} more (see --report)`);
  return lines;
}
