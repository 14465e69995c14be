import { computed, watch } from 'vue';

import { ICON_SIZE, paintIcon, titleWithCount, totalUnread } from '@/components/chat/unread';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

/**
 * Shows the total of unread messages in the tab: in the title ("(3) WiniChat") and as a badge
 * drawn on the favicon (a canvas, set as a data URL). Without unread messages the page's own
 * favicon is put back (or the drawn icon without a badge, when the page has none).
 */
export function useUnreadBadge(): void {
  const session = useSessionStore();
  // The chats store only once signed in: it talks to the node.
  const total = computed(() => (session.status === 'signedIn' ? totalUnread(useChatsStore().list) : 0));
  let link: HTMLLinkElement | null = null;
  let original: string | null = null;

  function icon(): HTMLLinkElement {
    if (link !== null) return link;
    const found = document.querySelector<HTMLLinkElement>('link[rel~="icon"]');
    original = found?.href ?? null;
    link = found ?? Object.assign(document.createElement('link'), { rel: 'icon' });
    if (found === null) document.head.appendChild(link);
    return link;
  }

  function drawn(count: number): string | null {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = ICON_SIZE;
    const ctx = canvas.getContext('2d');
    if (ctx === null || typeof ctx.roundRect !== 'function') return null;
    paintIcon(ctx, count);
    return canvas.toDataURL('image/png');
  }

  watch(
    total,
    (count) => {
      document.title = titleWithCount(document.title, count);
      const el = icon();
      el.dataset.unread = String(count);
      const href = count === 0 && original !== null ? original : drawn(count);
      if (href !== null) el.href = href;
    },
    { immediate: true },
  );
}
