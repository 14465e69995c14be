/** The emoji used last (picked in a picker or as a reaction), newest first, kept in localStorage. */

export const RECENT_KEY = 'winichat.emoji.recent';
export const MAX_RECENT = 32;

/** `list` with `emoji` moved (or added) to the front, at most `MAX_RECENT` long. */
export function withRecent(list: readonly string[], emoji: string): string[] {
  return [emoji, ...list.filter((e) => e !== emoji)].slice(0, MAX_RECENT);
}

/** The stored list; empty when storage is unavailable or holds something else. */
export function loadRecent(storage: Pick<Storage, 'getItem'> | null = safeStorage()): string[] {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((e): e is string => typeof e === 'string' && e !== '' && e.length <= 64).slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

/** Records a use; returns the new list. Storage errors (full, private mode) only lose the memory. */
export function rememberEmoji(emoji: string, storage: Pick<Storage, 'getItem' | 'setItem'> | null = safeStorage()): string[] {
  const list = withRecent(loadRecent(storage), emoji);
  try {
    storage?.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // Not remembered; the pick itself still happens.
  }
  return list;
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
