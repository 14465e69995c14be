import { beforeEach, describe, expect, it } from 'vitest';
import { nextTick } from 'vue';

import { clampWidth, usePaneWidth } from '../usePaneWidth';

const BOUNDS = { initial: 320, min: 240, max: 560 };

describe('usePaneWidth', () => {
  beforeEach(() => window.localStorage.clear());

  it('clamps into the bounds', () => {
    expect(clampWidth(100, BOUNDS)).toBe(240);
    expect(clampWidth(9999, BOUNDS)).toBe(560);
    expect(clampWidth(300.6, BOUNDS)).toBe(301);
    expect(clampWidth(Number.NaN, BOUNDS)).toBe(320);
  });

  it('remembers the width set, clamped, for the next start', async () => {
    const first = usePaneWidth('test.width', BOUNDS);
    expect(first.width.value).toBe(320);
    first.set(400);
    await nextTick();
    expect(window.localStorage.getItem('test.width')).toBe('400');
    expect(usePaneWidth('test.width', BOUNDS).width.value).toBe(400);
    window.localStorage.setItem('test.width', '5000');
    expect(usePaneWidth('test.width', BOUNDS).width.value).toBe(560);
    window.localStorage.setItem('test.width', 'wide');
    expect(usePaneWidth('test.width', BOUNDS).width.value).toBe(320);
  });
});
