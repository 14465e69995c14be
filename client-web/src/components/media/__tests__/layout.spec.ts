import { describe, expect, it } from 'vitest';

import { aspectOf, DEFAULT_ASPECT, gridLayout, MAX_PER_ROW, pickThumb, SINGLE_ASPECT, TILE_ASPECT } from '../layout';
import { clampView, FIT, fitBox, MAX_ZOOM, panBy, wheelZoom, zoomAt } from '../zoom';

const square = { width: 100, height: 100 };
const landscape = { width: 1600, height: 900 };
const portrait = { width: 900, height: 1600 };

function shape(rows: ReturnType<typeof gridLayout>): number[] {
  return rows.map((r) => r.tiles.length);
}

describe('grid layout', () => {
  it('keeps every item once, in order, rows flush (widths add up to 100 %)', () => {
    for (let n = 1; n <= 10; n++) {
      const items = Array.from({ length: n }, (_, i) => [square, landscape, portrait][i % 3] ?? square);
      const rows = gridLayout(items);
      expect(rows.flatMap((r) => r.tiles.map((t) => t.index))).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const row of rows) {
        expect(row.tiles.length).toBeLessThanOrEqual(MAX_PER_ROW);
        expect(row.tiles.reduce((a, t) => a + t.widthPct, 0)).toBeCloseTo(100, 6);
        // All tiles of a row share its height: each tile's aspect is its share of the row's.
        for (const t of row.tiles) expect((t.widthPct / 100) * row.aspect).toBeCloseTo(t.aspect, 6);
      }
    }
  });

  it('lays out squares like Telegram: 2 side by side, 4 as 2 + 2, 6 as 3 + 3, 10 in three rows', () => {
    const n = (k: number): ReturnType<typeof gridLayout> => gridLayout(Array.from({ length: k }, () => square));
    expect(shape(n(1))).toEqual([1]);
    expect(shape(n(2))).toEqual([2]);
    expect(shape(n(4))).toEqual([2, 2]);
    expect(shape(n(6))).toEqual([3, 3]);
    expect(shape(n(9))).toEqual([3, 3, 3]);
    expect(n(10)).toHaveLength(3);
    expect(n(5)).toHaveLength(2);
  });

  it('stacks two panoramas but puts two portraits side by side', () => {
    const pano = { width: 3000, height: 1000 };
    expect(shape(gridLayout([pano, pano]))).toEqual([1, 1]);
    expect(shape(gridLayout([portrait, portrait]))).toEqual([2]);
  });

  it('clamps extreme shapes and falls back for unknown sizes', () => {
    expect(gridLayout([{ width: 10_000, height: 10 }])[0]?.aspect).toBe(SINGLE_ASPECT[1]);
    expect(gridLayout([{ width: 10, height: 10_000 }])[0]?.aspect).toBe(SINGLE_ASPECT[0]);
    const rows = gridLayout([{ width: 10, height: 10_000 }, square]);
    expect(rows.flatMap((r) => r.tiles)[0]?.aspect).toBe(TILE_ASPECT[0]);
    expect(aspectOf({})).toBe(DEFAULT_ASPECT);
    expect(aspectOf({ width: 0, height: 5 })).toBe(DEFAULT_ASPECT);
    expect(gridLayout([])).toEqual([]);
  });

  it('picks the smallest thumbnail that covers the box, or the original when it is no bigger', () => {
    expect(pickThumb(landscape, 160, 2)).toBe(320);
    expect(pickThumb(landscape, 320, 2)).toBe(1280);
    expect(pickThumb(landscape, 300, 1)).toBe(320);
    expect(pickThumb({ width: 200, height: 150 }, 320, 2)).toBeUndefined(); // small image: the original
    expect(pickThumb({ ...landscape, mime: 'image/gif' }, 100)).toBeUndefined(); // GIFs move
    expect(pickThumb({}, 100)).toBe(320);
  });
});

describe('lightbox zoom', () => {
  const picture = { width: 400, height: 300 };
  const stage = { width: 800, height: 600 };

  it('fits a picture without enlarging it', () => {
    expect(fitBox({ width: 1600, height: 900 }, stage)).toEqual({ width: 800, height: 450 });
    expect(fitBox({ width: 900, height: 1600 }, stage)).toEqual({ width: 337.5, height: 600 });
    expect(fitBox({ width: 100, height: 50 }, stage)).toEqual({ width: 100, height: 50 });
  });

  it('zooms about a point, keeping it in place', () => {
    const v = zoomAt(FIT, 4, 100, 50, picture, stage);
    expect(v.scale).toBe(4);
    // The point under the pointer (100, 50 from the centre) was picture point (100, 50); now
    // picture point p is at x + 4·p, so x = 100 − 400 = −300.
    expect(v.x).toBe(-300);
    expect(v.y).toBe(-150);
    expect(zoomAt(v, 1, 0, 0, picture, stage)).toEqual({ scale: 1, x: 0, y: 0 });
    expect(zoomAt(FIT, 100, 0, 0, picture, stage).scale).toBe(MAX_ZOOM);
  });

  it('pans only as far as the picture reaches', () => {
    const v = { scale: 4, x: 0, y: 0 };
    // 1600 × 1200 on an 800 × 600 stage: at most 400 / 300 either way.
    expect(panBy(v, 1000, -1000, picture, stage)).toEqual({ scale: 4, x: 400, y: -300 });
    expect(panBy(FIT, 50, 50, picture, stage)).toEqual(FIT);
    expect(clampView({ scale: 0.2, x: 5, y: 5 }, picture, stage)).toEqual({ scale: 1, x: 0, y: 0 });
  });

  it('zooms in on wheel up and out on wheel down', () => {
    expect(wheelZoom(2, -100)).toBeGreaterThan(2);
    expect(wheelZoom(2, 100)).toBeLessThan(2);
    expect(wheelZoom(1, 1000)).toBe(1);
  });
});
