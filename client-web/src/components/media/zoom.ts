/**
 * The lightbox's zoom and pan arithmetic (pure, unit-tested): a picture shown at `scale` and
 * moved by (x, y) from the centre of the stage.
 */
import { clamp } from './format';

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 8;
/** One zoom button press or key: × or ÷ this. */
export const ZOOM_STEP = 1.5;
/** Double-click / double-tap zooms to this (or back to 1). */
export const DOUBLE_CLICK_ZOOM = 2.5;

export interface View {
  readonly scale: number;
  readonly x: number;
  readonly y: number;
}

export const FIT: View = { scale: 1, x: 0, y: 0 };

export interface Box {
  readonly width: number;
  readonly height: number;
}

/**
 * Keeps the picture covering the stage as far as it can: at scale s a picture of `picture` size
 * (its size at scale 1) may move at most (s·w − stage w) / 2 either way; less than the stage: centred.
 */
export function clampView(v: View, picture: Box, stage: Box): View {
  const scale = clamp(v.scale, MIN_ZOOM, MAX_ZOOM);
  const maxX = Math.max(0, (picture.width * scale - stage.width) / 2);
  const maxY = Math.max(0, (picture.height * scale - stage.height) / 2);
  // `|| 0`: no -0 (which would only confuse equality checks).
  return { scale, x: clamp(v.x, -maxX, maxX) || 0, y: clamp(v.y, -maxY, maxY) || 0 };
}

/**
 * Zooms to `scale` keeping the point (px, py) — relative to the stage's centre — where it is on
 * screen (under the pointer, or the centre for buttons and keys).
 */
export function zoomAt(v: View, scale: number, px: number, py: number, picture: Box, stage: Box): View {
  const next = clamp(scale, MIN_ZOOM, MAX_ZOOM);
  const k = next / v.scale;
  return clampView({ scale: next, x: px - (px - v.x) * k, y: py - (py - v.y) * k }, picture, stage);
}

/** Moves the picture by (dx, dy) screen pixels. */
export function panBy(v: View, dx: number, dy: number, picture: Box, stage: Box): View {
  return clampView({ scale: v.scale, x: v.x + dx, y: v.y + dy }, picture, stage);
}

/** The zoom after a wheel turn of `deltaY` (down: out, up: in), smooth for trackpads. */
export function wheelZoom(scale: number, deltaY: number): number {
  return clamp(scale * Math.exp(-deltaY * 0.002), MIN_ZOOM, MAX_ZOOM);
}

/** The size `picture` is shown at to fit in `stage` without being enlarged (aspect kept). */
export function fitBox(picture: Box, stage: Box): Box {
  if (picture.width <= 0 || picture.height <= 0 || stage.width <= 0 || stage.height <= 0) return { width: 0, height: 0 };
  const k = Math.min(1, stage.width / picture.width, stage.height / picture.height);
  return { width: picture.width * k, height: picture.height * k };
}
