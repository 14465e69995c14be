import { describe, expect, it } from 'vitest';

import { COUNTER_FROM_LEFT, textLimit, toggleMark } from '../compose';

describe('textLimit', () => {
  it('counts characters as the node does (scalar values, not UTF-16 units)', () => {
    expect(textLimit('🦀🦀', 10)).toMatchObject({ count: 2, left: 8, over: false, reason: null });
  });

  it('shows the counter near the limit and says why Send is disabled over it', () => {
    expect(textLimit('a'.repeat(4096 - COUNTER_FROM_LEFT - 1), 4096).show).toBe(false);
    expect(textLimit('a'.repeat(4096 - COUNTER_FROM_LEFT), 4096).show).toBe(true);
    expect(textLimit('a'.repeat(4096), 4096)).toMatchObject({ left: 0, over: false, reason: null });
    expect(textLimit('a'.repeat(4097), 4096).reason).toBe('The message is 1 character over the limit of 4,096: shorten it to send it.');
    expect(textLimit('a'.repeat(5100), 4096)).toMatchObject({ left: -1004, over: true, show: true });
  });
});

describe('toggleMark', () => {
  it('wraps the selection, or inserts a pair at the caret', () => {
    expect(toggleMark('say hi now', 4, 6, '**')).toEqual({ text: 'say **hi** now', start: 6, end: 8 });
    expect(toggleMark('ab', 1, 1, '_')).toEqual({ text: 'a__b', start: 2, end: 2 });
  });

  it('unwraps a selection already wrapped, inside or outside the marks', () => {
    expect(toggleMark('say **hi** now', 6, 8, '**')).toEqual({ text: 'say hi now', start: 4, end: 6 });
    expect(toggleMark('say **hi** now', 4, 10, '**')).toEqual({ text: 'say hi now', start: 4, end: 6 });
  });
});
