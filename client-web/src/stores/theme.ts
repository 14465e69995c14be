import { defineStore } from 'pinia';
import { computed, ref, watchEffect } from 'vue';

export type Theme = 'light' | 'dark';
/** What the user picked: a theme, or to follow the system's preference. */
export type ThemeChoice = Theme | 'system';

/** localStorage key of the chosen theme (absent: follow the system). */
export const THEME_KEY = 'winichat.theme';

const DARK_QUERY = '(prefers-color-scheme: dark)';

function isTheme(value: unknown): value is Theme {
  return value === 'light' || value === 'dark';
}

function readStored(): string | null {
  try {
    return window.localStorage.getItem(THEME_KEY);
  } catch {
    return null; // storage blocked (privacy mode): fall back to the system preference
  }
}

function remember(choice: ThemeChoice): void {
  try {
    if (choice === 'system') window.localStorage.removeItem(THEME_KEY);
    else window.localStorage.setItem(THEME_KEY, choice);
  } catch {
    // Not remembered, still applied.
  }
}

/**
 * The light/dark theme, applied to <html data-theme> (daisyUI). It follows the system's
 * preference, live, until the user picks one; that pick is remembered in localStorage until the
 * user goes back to "System".
 */
export const useThemeStore = defineStore('theme', () => {
  const stored = readStored();
  const choice = ref<ThemeChoice>(isTheme(stored) ? stored : 'system');
  const media = typeof window.matchMedia === 'function' ? window.matchMedia(DARK_QUERY) : null;
  const systemDark = ref(media?.matches ?? false);
  media?.addEventListener?.('change', (e) => (systemDark.value = e.matches));

  const theme = computed<Theme>(() => (choice.value === 'system' ? (systemDark.value ? 'dark' : 'light') : choice.value));

  watchEffect(() => {
    document.documentElement.dataset.theme = theme.value;
  });

  function choose(next: ThemeChoice): void {
    choice.value = next;
    remember(next);
  }

  /** Picks the theme other than the one shown. */
  function toggle(): void {
    choose(theme.value === 'dark' ? 'light' : 'dark');
  }

  return { theme, choice, choose, toggle };
});
