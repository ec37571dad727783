/**
 * Where to draw device markers so that none hides another: devices of one village sit within a
 * few metres of each other, far below a marker's size at the valley's scale. Markers repel each
 * other until they are `gap` apart and a weak spring keeps each near its true position (drawn with
 * a leader line when moved). Pure and deterministic: the same input gives the same picture.
 */

export interface Placed {
  id: string;
  /** True position (projected). */
  x0: number;
  y0: number;
  /** Marker position. */
  x: number;
  y: number;
}

const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5));

export function spreadMarkers(
  points: readonly { id: string; x: number; y: number }[],
  gap: number,
  iterations = 80,
): Placed[] {
  // Identical positions would have no direction to push along: start them on a small spiral.
  const seen = new Map<string, number>();
  const placed: Placed[] = points.map((p) => {
    const key = `${p.x},${p.y}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const r = n === 0 ? 0 : 0.5;
    return {
      id: p.id,
      x0: p.x,
      y0: p.y,
      x: p.x + Math.cos(n * GOLDEN_ANGLE) * r,
      y: p.y + Math.sin(n * GOLDEN_ANGLE) * r,
    };
  });
  for (let step = 0; step < iterations; step++) {
    let moved = false;
    for (let i = 0; i < placed.length; i++) {
      const a = placed[i] as Placed;
      for (let j = i + 1; j < placed.length; j++) {
        const b = placed[j] as Placed;
        const dx = b.x - a.x;
        const dy = b.y - a.y;
        const d = Math.hypot(dx, dy);
        if (d >= gap || d === 0) continue;
        const push = (gap - d) / 2 / d;
        a.x -= dx * push;
        a.y -= dy * push;
        b.x += dx * push;
        b.y += dy * push;
        moved = true;
      }
    }
    if (!moved) break;
    for (const p of placed) {
      p.x += (p.x0 - p.x) * 0.02;
      p.y += (p.y0 - p.y) * 0.02;
    }
  }
  return placed;
}

export interface Box {
  /** Centre of the text's baseline, as SVG `text-anchor="middle"` places it. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Distance from a point to a label's box (0 inside it). */
function clearance(box: Box, px: number, py: number): number {
  const dx = Math.max(box.x - box.width / 2 - px, 0, px - (box.x + box.width / 2));
  const dy = Math.max(box.y - box.height * 0.8 - py, 0, py - (box.y + box.height * 0.2));
  return Math.hypot(dx, dy);
}

/**
 * Moves a municipality's name off the device markers: among points of a grid around its
 * centroid that stay inside the municipality, the nearest to the centroid that is `free`
 * away from every marker; failing that, the one with the most room.
 */
export function placeLabel(
  start: Box,
  inside: (x: number, y: number) => boolean,
  markers: readonly { x: number; y: number }[],
  free: number,
  step = 12,
  reach = 240,
): { x: number; y: number } {
  let best = { x: start.x, y: start.y, room: -1, distance: Infinity };
  for (let dy = -reach; dy <= reach; dy += step) {
    for (let dx = -reach; dx <= reach; dx += step) {
      const box = { ...start, x: start.x + dx, y: start.y + dy };
      // The middle of the name inside the municipality: a small one crowded with markers may
      // otherwise have no place at all for its name.
      if (!inside(box.x, box.y - box.height * 0.3)) continue;
      const room = Math.min(free, ...markers.map((m) => clearance(box, m.x, m.y)));
      const distance = Math.hypot(dx, dy);
      if (room > best.room || (room === best.room && distance < best.distance)) {
        best = { x: box.x, y: box.y, room, distance };
      }
    }
  }
  return { x: best.x, y: best.y };
}
