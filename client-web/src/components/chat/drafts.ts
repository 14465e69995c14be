/**
 * Drafts: what was typed in a chat's composer and not sent, kept per signed-in user and chat in
 * localStorage, so it survives switching chats and reloading. Sending clears it.
 *
 * The storage may refuse (disabled, full): drafts then live only as long as the composer shows
 * them, and nothing else breaks.
 */

/** Keys start with this; user and chat ids hold no space, so the key reads back unambiguously. */
const PREFIX = 'winichat.draft ';

/** The longest draft kept (characters); a longer text is kept cut, rather than not at all. */
export const MAX_DRAFT_CHARS = 20_000;

export function draftKey(user: string, group: string): string {
  return `${PREFIX}${user} ${group}`;
}

/** The draft kept for `group`, or ''. */
export function loadDraft(storage: Storage | null, user: string, group: string): string {
  try {
    return storage?.getItem(draftKey(user, group)) ?? '';
  } catch {
    return '';
  }
}

/** Keeps `text` as the draft of `group`; an empty (or blank) one is dropped. */
export function saveDraft(storage: Storage | null, user: string, group: string, text: string): void {
  try {
    if (text.trim() === '') storage?.removeItem(draftKey(user, group));
    else storage?.setItem(draftKey(user, group), text.slice(0, MAX_DRAFT_CHARS));
  } catch {
    // Full or disabled: the draft is only not kept.
  }
}

/** Drops every draft of `user` (an explicit sign-out). */
export function forgetDrafts(storage: Storage | null, user: string): void {
  try {
    if (storage === null) return;
    const mine = `${PREFIX}${user} `;
    const keys: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (k !== null && k.startsWith(mine)) keys.push(k);
    }
    for (const k of keys) storage.removeItem(k);
  } catch {
    // Nothing to drop where nothing could be kept.
  }
}

/** The page's localStorage, or null where it cannot be used. */
export function browserStorage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}
