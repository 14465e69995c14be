import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { nextTick } from 'vue';

import { THEME_KEY, useThemeStore } from '../theme';

describe('theme store', () => {
  beforeEach(() => {
    window.localStorage.clear();
    delete document.documentElement.dataset.theme;
    setActivePinia(createPinia());
  });

  it('applies the theme to <html> and remembers a toggle', async () => {
    const store = useThemeStore();
    const first = store.theme;
    expect(document.documentElement.dataset.theme).toBe(first);
    store.toggle();
    await nextTick();
    const second = first === 'dark' ? 'light' : 'dark';
    expect(document.documentElement.dataset.theme).toBe(second);
    expect(window.localStorage.getItem(THEME_KEY)).toBe(second);
  });

  it('starts from the stored theme', () => {
    window.localStorage.setItem(THEME_KEY, 'dark');
    expect(useThemeStore().theme).toBe('dark');
  });

  it('ignores a stored value that is not a theme', () => {
    window.localStorage.setItem(THEME_KEY, 'purple');
    expect(['light', 'dark']).toContain(useThemeStore().theme);
  });
});
