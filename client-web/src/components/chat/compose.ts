/**
 * The composer's text helpers: how close the text is to the length limit, and wrapping the
 * selection in a formatting mark (Ctrl+B, Ctrl+I). Pure functions (unit-tested).
 */

/** From how many characters left the counter shows. */
export const COUNTER_FROM_LEFT = 500;

export interface TextLimit {
  /** Characters (Unicode scalar values, as the node counts them). */
  readonly count: number;
  /** Characters left; negative when over. */
  readonly left: number;
  /** The counter is shown (near or over the limit). */
  readonly show: boolean;
  readonly over: boolean;
  /** Why Send is disabled by the length, or null. */
  readonly reason: string | null;
}

export function textLimit(text: string, max: number): TextLimit {
  const count = Array.from(text).length;
  const left = max - count;
  const over = left < 0;
  return {
    count,
    left,
    show: left <= COUNTER_FROM_LEFT,
    over,
    reason: over ? `The message is ${(-left).toLocaleString('en')} ${left === -1 ? 'character' : 'characters'} over the limit of ${max.toLocaleString('en')}: shorten it to send it.` : null,
  };
}

/**
 * Wraps `text[start, end)` in `mark` (or removes the mark when the selection is already wrapped
 * in it); with an empty selection, inserts the pair and puts the caret between. Returns the new
 * text and selection.
 */
export function toggleMark(text: string, start: number, end: number, mark: string): { text: string; start: number; end: number } {
  const n = mark.length;
  const selected = text.slice(start, end);
  if (text.slice(start - n, start) === mark && text.slice(end, end + n) === mark) {
    return { text: text.slice(0, start - n) + selected + text.slice(end + n), start: start - n, end: end - n };
  }
  if (selected.length >= 2 * n && selected.startsWith(mark) && selected.endsWith(mark)) {
    const inner = selected.slice(n, -n);
    return { text: text.slice(0, start) + inner + text.slice(end), start, end: start + inner.length };
  }
  return { text: text.slice(0, start) + mark + selected + mark + text.slice(end), start: start + n, end: end + n };
}
