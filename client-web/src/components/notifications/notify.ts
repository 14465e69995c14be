/**
 * What a browser notification says for a new message, and whether there is one at all: only
 * for another person's new message in a chat I am in and did not mute, while the tab is hidden.
 * Pure: the caller passes the visibility and the clock.
 */
import { oneLine } from '@/components/chat/format';
import { mentionsMe } from '@/components/chat/mentions';
import { attachmentSummary } from '@/components/media/format';
import type { TimelineItem } from '@/protocol';
import type { ChatEntry } from '@/stores/chats';

import { isMuted } from './mute';

/** An event older than this (a replay after a reconnect, say) does not notify. */
export const NOTIFY_MAX_AGE_MS = 2 * 60_000;

export interface MessageNotification {
  readonly title: string;
  readonly body: string;
  /** One notification per chat: a newer one replaces it. */
  readonly tag: string;
  readonly mention: boolean;
}

export interface NotifyContext {
  readonly me: string | null;
  readonly hidden: boolean;
  readonly now: number;
  readonly displayName: (user: string) => string;
  readonly chatTitle: (entry: ChatEntry) => string;
}

export function notificationFor(item: TimelineItem, entry: ChatEntry | undefined, ctx: NotifyContext): MessageNotification | null {
  if (!ctx.hidden || ctx.me === null || entry === undefined || entry.left !== null) return null;
  if (item.kind !== 'msg.post' || item.body.kind !== 'msg.post' || item.sender === ctx.me || item.deleted) return null;
  if (ctx.now - item.ts > NOTIFY_MAX_AGE_MS || isMuted(entry, ctx.now)) return null;
  const sender = ctx.displayName(item.sender);
  const mention = mentionsMe(item, ctx.me);
  const direct = entry.summary.kind === 'direct';
  const chat = ctx.chatTitle(entry);
  const title = mention ? (direct ? `${sender} mentioned you` : `${sender} mentioned you in ${chat}`) : direct ? sender : `${sender} in ${chat}`;
  const text = oneLine(item.body.text, 140);
  const body = text !== '' ? text : attachmentSummary(item.body.attachments) || 'New message';
  return { title, body, tag: entry.summary.group, mention };
}
