/**
 * Browser notifications of new messages and mentions while the tab is hidden (notify.ts says
 * which). Permission is never asked on load: after my first message is sent, an in-app prompt
 * offers to turn them on (or the account menu does), and only its button asks the browser.
 * Clicking a notification focuses the tab and opens the chat.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';

import { notificationFor } from '@/components/notifications/notify';
import type { ChatEventPush } from '@/protocol';
import { useChatsStore } from '@/stores/chats';

/** localStorage key: the user said "Not now" to the prompt. */
export const NOTIFY_PROMPT_KEY = 'winichat.notifyPrompt';

type Permission = NotificationPermission | 'unsupported';

function currentPermission(): Permission {
  return typeof window.Notification === 'function' ? window.Notification.permission : 'unsupported';
}

function promptDismissed(): boolean {
  try {
    return window.localStorage.getItem(NOTIFY_PROMPT_KEY) === 'dismissed';
  } catch {
    return false;
  }
}

export const useNotificationsStore = defineStore('notifications', () => {
  const chats = useChatsStore();
  const permission = ref<Permission>(currentPermission());
  /** The in-app "turn on notifications?" prompt is shown. */
  const prompting = ref(false);
  let started = false;
  let openChat: (group: string) => void = () => {};

  function onEvent(push: ChatEventPush): void {
    const { item } = push;
    if (item.kind === 'msg.post' && item.sender === chats.me) offerAfterFirstSend();
    if (permission.value !== 'granted') return;
    const entry = chats.entry(push.group);
    const note = notificationFor(item, entry, {
      me: chats.me,
      hidden: document.visibilityState === 'hidden',
      now: Date.now(),
      displayName: (u) => chats.displayName(u),
      chatTitle: (e) => chats.title(e.summary),
    });
    if (note === null) return;
    try {
      const shown = new window.Notification(note.title, { body: note.body, tag: note.tag, icon: '/icon-192.png' });
      shown.onclick = () => {
        window.focus();
        openChat(push.group);
        shown.close();
      };
    } catch {
      // Some browsers only notify through a service worker: then there is no notification.
    }
  }

  /** My first message: the moment to offer notifications, once, unless already decided. */
  function offerAfterFirstSend(): void {
    permission.value = currentPermission();
    if (permission.value === 'default' && !promptDismissed()) prompting.value = true;
  }

  /** Listens to the chat pushes (once); `open` shows a chat when a notification is clicked. */
  function start(open: (group: string) => void): void {
    openChat = open;
    if (started) return;
    started = true;
    chats.client.on('event', onEvent);
  }

  /** Asks the browser (from a click, as browsers require). */
  async function enable(): Promise<void> {
    prompting.value = false;
    if (typeof window.Notification !== 'function') return;
    permission.value = await window.Notification.requestPermission();
  }

  function dismiss(): void {
    prompting.value = false;
    try {
      window.localStorage.setItem(NOTIFY_PROMPT_KEY, 'dismissed');
    } catch {
      // Asked again next time.
    }
  }

  return { permission, prompting, start, enable, dismiss };
});
