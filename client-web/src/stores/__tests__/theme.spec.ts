import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import { THEME_KEY, useThemeStore } from '../theme';

/** A matchMedia whose dark preference the test can change, as the OS would. */
function fakeSystem(dark: boolean): (next: boolean) => void {
  const listeners: ((e: { matches: boolean }) => void)[] = [];
  const query = { matches: dark, addEventListener: (_: string, l: (e: { matches: boolean }) => void) => listeners.push(l) };
  vi.stubGlobal('matchMedia', () => query);
  return (next) => {
    query.matches = next;
    for (const l of listeners) l({ matches: next });
  };
}

describe('theme store', () => {
  beforeEach(() => {
    window.localStorage.clear();
    delete document.documentElement.dataset.theme;
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it('applies the theme to <html> and remembers a toggle', async () => {
    const store = useThemeStore();
    const first = store.theme;
    expect(document.documentElement.dataset.theme).toBe(first);
    store.toggle();
    await nextTick();
    const second = first === 'dark' ? 'light' : 'dark';
    expect(document.documentElement.dataset.theme).toBe(second);
    expect(window.localStorage.getItem(THEME_KEY)).toBe(second);
    expect(store.choice).toBe(second);
  });

  it('starts from the stored theme', () => {
    window.localStorage.setItem(THEME_KEY, 'dark');
    expect(useThemeStore().theme).toBe('dark');
  });

  it('ignores a stored value that is not a theme', () => {
    window.localStorage.setItem(THEME_KEY, 'purple');
    expect(useThemeStore().choice).toBe('system');
  });

  it('follows the system preference live until the user picks a theme', async () => {
    const setSystemDark = fakeSystem(false);
    const store = useThemeStore();
    expect(store.choice).toBe('system');
    expect(store.theme).toBe('light');
    setSystemDark(true);
    await nextTick();
    expect(document.documentElement.dataset.theme).toBe('dark');
    store.choose('light');
    setSystemDark(false);
    setSystemDark(true);
    await nextTick();
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(window.localStorage.getItem(THEME_KEY)).toBe('light');
  });

  it('goes back to the system preference and forgets the pick', async () => {
    fakeSystem(true);
    window.localStorage.setItem(THEME_KEY, 'light');
    const store = useThemeStore();
    expect(store.theme).toBe('light');
    store.choose('system');
    await nextTick();
    expect(store.theme).toBe('dark');
    expect(window.localStorage.getItem(THEME_KEY)).toBeNull();
  });
});
