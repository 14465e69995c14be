import { computed, watch } from 'vue';

import { ICON_SIZE, paintIcon, titleWithCount, totalUnread } from '@/components/chat/unread';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

/** One of the page's icon links, with what it pointed at before any badge. */
interface Icon {
  el: HTMLLinkElement;
  original: string | null;
  type: string;
}

/**
 * Shows the total of unread messages in the tab: in the title ("(3) WiniChat") and as a badge
 * drawn on the favicon (a canvas, set as a data URL). Without unread messages the page's own
 * favicons are put back (or the drawn icon without a badge, when the page has none).
 */
export function useUnreadBadge(): void {
  const session = useSessionStore();
  // The chats store only once signed in: it talks to the node.
  const total = computed(() => (session.status === 'signedIn' ? totalUnread(useChatsStore().list) : 0));
  /** The page's icon links with their own hrefs (index.html has an ICO and an SVG one). */
  let links: Icon[] | null = null;

  function icons(): Icon[] {
    if (links !== null) return links;
    const found = [...document.querySelectorAll<HTMLLinkElement>('link[rel~="icon"]')];
    if (found.length === 0) {
      const el = Object.assign(document.createElement('link'), { rel: 'icon' });
      document.head.appendChild(el);
      links = [{ el, original: null, type: '' }];
    } else {
      links = found.map((el) => ({ el, original: el.href, type: el.type }));
    }
    return links;
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
      // Every icon link gets the badge: a browser may use any of them (Chromium prefers the SVG).
      const badge = count === 0 ? null : drawn(count);
      for (const { el, original, type } of icons()) {
        el.dataset.unread = String(count);
        const href = count === 0 ? (original ?? drawn(0)) : badge;
        if (href === null) continue;
        el.href = href;
        // The drawn icon is a PNG, whatever the link's own file was.
        el.type = href === original ? type : 'image/png';
      }
    },
    { immediate: true },
  );
}
