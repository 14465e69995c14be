/**
 * The mosaic of a message's images and videos, like Telegram's: tiles keep the order they were
 * sent in, go into rows of 1–4, and every tile in a row has the row's height, its width in
 * proportion to its (clamped) aspect ratio, so rows are flush on both sides and nothing is
 * stretched — a tile shows its picture with `object-fit: cover` in a box close to its shape.
 *
 * How items are split into rows: the split whose rows' aspect ratios (width / height) come
 * closest to a target, measured as the squared log ratio (so a row twice too tall costs what a
 * row twice too flat does), found exactly by dynamic programming over the ≤ 10 items.
 */
import { clamp } from './format';

export interface TileSize {
  /** Pixels; absent when the node could not tell (audio poster, odd files). */
  readonly width?: number;
  readonly height?: number;
}

export interface GridTile {
  /** The item's index in the input. */
  readonly index: number;
  /** Width / height of the tile's box. */
  readonly aspect: number;
  /** The tile's share of its row's width, in percent (a row's tiles add up to 100). */
  readonly widthPct: number;
}

export interface GridRow {
  readonly tiles: readonly GridTile[];
  /** Width / height of the whole row. */
  readonly aspect: number;
}

/** Aspect ratio of a tile when the size is unknown. */
export const DEFAULT_ASPECT = 4 / 3;
/** A lone item's box stays within these aspect ratios (a panorama is not a sliver). */
export const SINGLE_ASPECT: readonly [number, number] = [0.5, 2.5];
/** In a mosaic, each tile's box stays within these. */
export const TILE_ASPECT: readonly [number, number] = [0.6, 1.8];
export const MAX_PER_ROW = 4;

/** The natural aspect ratio of an item (width / height), or DEFAULT_ASPECT when unknown. */
export function aspectOf(size: TileSize): number {
  const { width, height } = size;
  if (!width || !height || width <= 0 || height <= 0 || !Number.isFinite(width / height)) return DEFAULT_ASPECT;
  return width / height;
}

/** The row shape a mosaic of `n` items aims for (width / height of one row). */
function targetAspect(n: number): number {
  if (n <= 4) return 2;
  if (n === 5) return 2.5;
  return 3;
}

/** Lays out `items` (in order) into rows; empty input gives no rows. */
export function gridLayout(items: readonly TileSize[]): GridRow[] {
  const n = items.length;
  if (n === 0) return [];
  if (n === 1) {
    const aspect = clamp(aspectOf(items[0] ?? {}), SINGLE_ASPECT[0], SINGLE_ASPECT[1]);
    return [{ aspect, tiles: [{ index: 0, aspect, widthPct: 100 }] }];
  }
  const aspects = items.map((it) => clamp(aspectOf(it), TILE_ASPECT[0], TILE_ASPECT[1]));
  const target = targetAspect(n);
  // best[i]: the cheapest cost of laying out the first i items; cut[i]: where its last row starts.
  const best = new Array<number>(n + 1).fill(Infinity);
  const cut = new Array<number>(n + 1).fill(0);
  best[0] = 0;
  for (let i = 1; i <= n; i++) {
    let sum = 0;
    for (let k = i - 1; k >= 0 && i - k <= MAX_PER_ROW; k--) {
      sum += aspects[k] ?? DEFAULT_ASPECT;
      // A small cost per row breaks ties towards fewer, fuller rows.
      const cost = (best[k] ?? Infinity) + Math.log(sum / target) ** 2 + 0.02;
      if (cost < (best[i] ?? Infinity)) {
        best[i] = cost;
        cut[i] = k;
      }
    }
  }
  const rows: GridRow[] = [];
  for (let i = n; i > 0; i = cut[i] ?? 0) {
    const from = cut[i] ?? 0;
    const slice = aspects.slice(from, i);
    const total = slice.reduce((a, b) => a + b, 0);
    rows.unshift({
      aspect: total,
      tiles: slice.map((aspect, j) => ({ index: from + j, aspect, widthPct: (aspect / total) * 100 })),
    });
  }
  return rows;
}

/** The thumbnail sizes the node makes (longest side, never upscaled): THUMB_SIZES. */
export const THUMB_SIZES = [96, 320, 1280] as const;

/**
 * Which thumbnail to load for an image shown `cssPx` wide (longest side) at `dpr`: the smallest
 * of 320/1280 that covers it, or the original (`undefined`) when the image is no bigger than
 * that thumbnail anyway (a small image may have no such thumbnail), or when it is a GIF (its
 * thumbnails would not move).
 */
export function pickThumb(size: TileSize & { readonly mime?: string }, cssPx: number, dpr = 1): number | undefined {
  if (size.mime === 'image/gif') return undefined;
  const longest = Math.max(size.width ?? 0, size.height ?? 0);
  const need = cssPx * (Number.isFinite(dpr) && dpr > 0 ? dpr : 1);
  const thumb = need <= 320 ? 320 : 1280;
  if (longest > 0 && longest <= thumb) return undefined;
  return thumb;
}
