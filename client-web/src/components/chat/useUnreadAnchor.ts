import { computed, nextTick, ref, type Ref } from 'vue';

import type { GroupId } from '@/protocol';
import { useChatsStore } from '@/stores/chats';

import { firstUnreadSeq } from './unread';

/**
 * Opening a chat at its first unread message. The read position when the chat view opens is
 * remembered: the "Unread messages" divider stays above the first message after it while the
 * chat is open (reading moves the read position on, not the divider). When the window first
 * loads, `settle()` scrolls the divider to the top — loading the page around the first unread
 * message when the newest page does not reach back to it.
 */
export function useUnreadAnchor(group: GroupId, scroller: Ref<HTMLElement | null>) {
  const chats = useChatsStore();
  const opened = chats.entry(group)?.summary;
  /** My read position when the chat was opened, when something was unread then. */
  const unreadFrom = ref<number | null>(opened !== undefined && opened.unread > 0 ? opened.readSeq : null);
  const items = computed(() => chats.entry(group)?.items ?? []);
  /** The message the divider goes above (null: none in the window). */
  const dividerSeq = computed(() => (unreadFrom.value === null ? null : firstUnreadSeq(items.value, unreadFrom.value, chats.me)));
  let done = false;
  const settling = ref(false);

  /** Once the window is loaded: scrolls to the divider; false when there is none (stay at the end). */
  async function settle(): Promise<boolean> {
    const e = chats.entry(group);
    if (done || e === undefined || !e.loaded) return false;
    done = true;
    const from = unreadFrom.value;
    if (from === null) return false;
    settling.value = true;
    try {
      const first = e.items[0];
      if (dividerSeq.value === null && e.moreBefore && first !== undefined && first.seq > from + 1) {
        await chats.jumpTo(group, from + 1);
      }
      await nextTick();
      const el = scroller.value;
      const divider = el?.querySelector<HTMLElement>('[data-testid=unread-divider]');
      if (!el || !divider) return false;
      el.scrollTop += divider.getBoundingClientRect().top - el.getBoundingClientRect().top - 8;
      return true;
    } finally {
      settling.value = false;
    }
  }

  return { dividerSeq, settle, settling };
}
