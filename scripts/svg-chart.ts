/** A small inline-SVG line chart for the simulator plots (rendered to PNG by headless Chromium). */

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  unit: string;
  series: Series[];
  yMin?: number;
  yMax?: number;
  /** Shaded hour ranges, e.g. the 02:00-05:00 night window. */
  bands?: { from: number; to: number; label: string }[];
  /** Reference lines, e.g. a car park's capacity or a limit value. */
  lines?: { y: number; label: string; color?: string }[];
}

const W = 600;
const H = 330;
const M = { left: 58, right: 16, top: 34, bottom: 62 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(span: number): number {
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * mag;
}

export function lineChart(spec: ChartSpec): string {
  const values = spec.series
    .flatMap((s) => s.points.map((p) => p[1]))
    .concat((spec.lines ?? []).map((l) => l.y));
  let lo = spec.yMin ?? Math.min(...values);
  let hi = spec.yMax ?? Math.max(...values);
  if (hi - lo < 1e-9) hi = lo + 1;
  const step = niceStep(hi - lo);
  lo = spec.yMin ?? Math.floor(lo / step) * step;
  hi = spec.yMax ?? Math.ceil(hi / step) * step;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (h: number) => M.left + (h / 24) * pw;
  const y = (v: number) => M.top + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  for (const b of spec.bands ?? []) {
    parts.push(
      `<rect x="${x(b.from)}" y="${M.top}" width="${x(b.to) - x(b.from)}" height="${ph}" fill="#eef3fb"/>`,
    );
    parts.push(
      `<text x="${(x(b.from) + x(b.to)) / 2}" y="${M.top + 12}" font-size="10" text-anchor="middle" fill="#557">${esc(b.label)}</text>`,
    );
  }
  for (let v = lo; v <= hi + step / 2; v += step) {
    const label = Math.abs(step) >= 1 ? v.toFixed(0) : v.toFixed(step >= 0.1 ? 1 : 2);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e4e4"/>`);
    parts.push(
      `<text x="${M.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#444">${label}</text>`,
    );
  }
  for (let h = 0; h <= 24; h += 3) {
    parts.push(`<line x1="${x(h)}" x2="${x(h)}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    parts.push(
      `<text x="${x(h)}" y="${M.top + ph + 15}" font-size="11" text-anchor="middle" fill="#444">${String(h).padStart(2, '0')}:00</text>`,
    );
  }
  for (const l of spec.lines ?? []) {
    const c = l.color ?? '#b00';
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(l.y)}" y2="${y(l.y)}" stroke="${c}" stroke-dasharray="5 4"/>`,
    );
    parts.push(
      `<text x="${W - M.right - 4}" y="${y(l.y) - 4}" font-size="10" text-anchor="end" fill="${c}">${esc(l.label)}</text>`,
    );
  }
  for (const s of spec.series) {
    const d = s.points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
      .join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  parts.push(
    `<text x="${M.left}" y="20" font-size="14" font-weight="600" fill="#222">${esc(spec.title)}</text>`,
  );
  parts.push(
    `<text x="14" y="${M.top + ph / 2}" font-size="11" fill="#444" transform="rotate(-90 14 ${M.top + ph / 2})" text-anchor="middle">${esc(spec.unit)}</text>`,
  );
  let lx = M.left;
  for (const s of spec.series) {
    const ly = H - 18;
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
    parts.push(`<text x="${lx + 22}" y="${ly}" font-size="11" fill="#333">${esc(s.name)}</text>`);
    lx += 30 + s.name.length * 6.2;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">${parts.join('')}</svg>`;
}

/** A page of charts, two per row, with a heading and a note on where the figures come from. */
export function chartPage(title: string, note: string, charts: string[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;padding:16px 18px;font-family:"DejaVu Sans",sans-serif;background:#fff;width:${2 * W + 20}px}
h1{font-size:19px;margin:0 0 4px}p{font-size:12px;color:#555;margin:0 0 10px}
.grid{display:grid;grid-template-columns:${W}px ${W}px;gap:10px 20px}</style></head>
<body><h1>${esc(title)}</h1><p>${esc(note)}</p><div class="grid">${charts.join('')}</div></body></html>`;
}
