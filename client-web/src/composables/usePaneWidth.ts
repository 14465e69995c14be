import { ref, watch, type Ref } from 'vue';

/** Bounds and the start value of a resizable pane, in CSS px. */
export interface PaneBounds {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
}

/** `width` clamped into the bounds (rounded; a value that is no number gives the initial one). */
export function clampWidth(width: number, bounds: PaneBounds): number {
  if (!Number.isFinite(width)) return bounds.initial;
  return Math.round(Math.min(bounds.max, Math.max(bounds.min, width)));
}

function readStored(key: string): number | null {
  try {
    const text = window.localStorage.getItem(key);
    return text === null ? null : Number(text);
  } catch {
    return null; // storage blocked: start from the default
  }
}

/**
 * A pane's width that the user sets by dragging (or with the arrow keys) and that is remembered
 * in localStorage under `key`.
 */
export function usePaneWidth(key: string, bounds: PaneBounds): { width: Ref<number>; set: (next: number) => void } {
  const stored = readStored(key);
  const width = ref(stored === null ? bounds.initial : clampWidth(stored, bounds));

  watch(width, (w) => {
    try {
      window.localStorage.setItem(key, String(w));
    } catch {
      // Not remembered, still applied.
    }
  });

  function set(next: number): void {
    width.value = clampWidth(next, bounds);
  }

  return { width, set };
}
