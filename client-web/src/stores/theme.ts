import { defineStore } from 'pinia';
import { ref, watchEffect } from 'vue';

export type Theme = 'light' | 'dark';

/** localStorage key of the chosen theme. */
export const THEME_KEY = 'winichat.theme';

function isTheme(value: unknown): value is Theme {
  return value === 'light' || value === 'dark';
}

/** The first theme: the one chosen before, else the system's preference. */
function initialTheme(): Theme {
  const stored = readStored();
  if (isTheme(stored)) return stored;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function readStored(): string | null {
  try {
    return window.localStorage.getItem(THEME_KEY);
  } catch {
    return null; // storage blocked (privacy mode): fall back to the system preference
  }
}

/** The light/dark theme: applied to <html data-theme> (daisyUI) and remembered in localStorage. */
export const useThemeStore = defineStore('theme', () => {
  const theme = ref<Theme>(initialTheme());

  watchEffect(() => {
    document.documentElement.dataset.theme = theme.value;
    try {
      window.localStorage.setItem(THEME_KEY, theme.value);
    } catch {
      // Not remembered, still applied.
    }
  });

  function toggle(): void {
    theme.value = theme.value === 'dark' ? 'light' : 'dark';
  }

  return { theme, toggle };
});
