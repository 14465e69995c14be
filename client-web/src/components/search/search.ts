import { ref } from 'vue';

import type { GroupId } from '@/protocol';

/** Open state of the message search dialog, shared by the buttons that open it. */
export const searchOpen = ref(false);
/** The chat searched in; null: every chat. */
export const searchScope = ref<GroupId | null>(null);

/** Opens message search across every chat, or in `group` only. */
export function openSearch(group: GroupId | null = null): void {
  searchScope.value = group;
  searchOpen.value = true;
}

/** The route that opens `group` at message `seq` (ChatView jumps to it and highlights it). */
export function messageRoute(group: GroupId, seq: number) {
  return { name: 'chat', params: { group }, query: { seq: String(seq) } } as const;
}

/** The `seq` query of a chat route, when it is a message's seq. */
export function seqOfQuery(value: unknown): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,15}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
