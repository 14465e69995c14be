/**
 * Which person's profile panel is open: one for the whole chat layout. Any component (a
 * message's sender name or avatar, a chat header) opens it with `showProfile(user)`; the panel
 * in the chat layout shows it.
 */
import { ref } from 'vue';

import type { ChatEntry } from '@/stores/chats';

/** The user whose profile is shown; null when the panel is closed. */
export const profileUser = ref<string | null>(null);

export function showProfile(user: string): void {
  profileUser.value = user;
}

export function closeProfile(): void {
  profileUser.value = null;
}

/**
 * The group chats (not direct chats) that `user` and I are both in, as far as the loaded state
 * tells: I have not left, and they own it, the member list holds them, or they wrote in the
 * loaded window.
 * Ordered by name.
 */
export function sharedGroups(entries: readonly ChatEntry[], user: string): ChatEntry[] {
  return entries
    .filter((e) => e.summary.kind === 'group' && e.left === null)
    .filter((e) => e.summary.owner === user || (e.detail?.members.some((m) => m.user === user) ?? false) || e.items.some((i) => i.sender === user))
    .sort((a, b) => a.summary.name.localeCompare(b.summary.name));
}

/** At most this many group details are fetched to find shared groups when a panel opens. */
export const SHARED_LOOKUP_LIMIT = 20;
