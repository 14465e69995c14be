/**
 * Long press on touch screens: `onLongPress` runs after a finger rests `ms` on the element
 * without moving; a move, lift or cancel before that is an ordinary touch.
 */
export interface LongPressHandlers {
  touchstart: (e: TouchEvent) => void;
  touchmove: () => void;
  touchend: () => void;
  touchcancel: () => void;
}

/** How long a touch must rest to count as a long press (ms). */
export const LONG_PRESS_MS = 500;

export function longPress(onLongPress: () => void, ms = LONG_PRESS_MS): LongPressHandlers {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const cancel = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return {
    touchstart: (e: TouchEvent) => {
      cancel();
      if (e.touches.length !== 1) return;
      timer = setTimeout(() => {
        timer = null;
        onLongPress();
      }, ms);
    },
    touchmove: cancel,
    touchend: cancel,
    touchcancel: cancel,
  };
}
