/**
 * Unread, the pure part: where the "Unread messages" divider goes, the total shown in the tab
 * title and favicon, and the favicon's badge.
 */
import { isMuted } from '@/components/notifications/mute';
import type { TimelineItem } from '@/protocol';

/** The seq of the first message from someone else after `readSeq` in the window, or null. */
export function firstUnreadSeq(items: readonly TimelineItem[], readSeq: number, me: string | null): number | null {
  for (const i of items) if (i.seq > readSeq && i.kind === 'msg.post' && !i.deleted && i.sender !== me) return i.seq;
  return null;
}

/** Unread messages over every chat I am still in. */
export function totalUnread(
  entries: readonly { readonly summary: { readonly unread: number; readonly mutedUntil?: number }; readonly left: unknown }[],
  now = Date.now(),
): number {
  let n = 0;
  // Muted chats keep their own count in the list but stay out of the tab's total.
  for (const e of entries) if (e.left === null && e.summary.unread > 0 && !isMuted(e, now)) n += e.summary.unread;
  return n;
}

const COUNT_PREFIX = /^\(\d+\+?\) /;

/** `title` with the unread count in front, "(3) WiniChat" (a count already there is replaced). */
export function titleWithCount(title: string, count: number): string {
  const bare = title.replace(COUNT_PREFIX, '');
  return count > 0 ? `(${countLabel(count)}) ${bare}` : bare;
}

/** The count as a badge shows it: at most two digits. */
export function countLabel(count: number): string {
  return count > 99 ? '99+' : String(count);
}

/** The 2D drawing calls the favicon needs (a canvas context fits; tests record them). */
export interface IconPainter {
  fillStyle: string | CanvasGradient | CanvasPattern;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
  clearRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
  roundRect(x: number, y: number, w: number, h: number, radii: number): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  closePath(): void;
  fill(): void;
  fillText(text: string, x: number, y: number): void;
}

/** Side of the drawn favicon (px). */
export const ICON_SIZE = 64;

/**
 * Draws the app's icon (a speech bubble) and, when `count` > 0, a red badge with the count in
 * its top right corner.
 */
export function paintIcon(p: IconPainter, count: number): void {
  const s = ICON_SIZE;
  p.clearRect(0, 0, s, s);
  p.fillStyle = '#4f46e5';
  p.beginPath();
  p.roundRect(4, 8, 52, 40, 12);
  p.fill();
  p.beginPath();
  p.moveTo(14, 44);
  p.lineTo(10, 60);
  p.lineTo(28, 46);
  p.closePath();
  p.fill();
  p.fillStyle = '#ffffff';
  p.font = 'bold 26px sans-serif';
  p.textAlign = 'center';
  p.textBaseline = 'middle';
  p.fillText('W', 30, 29);
  if (count <= 0) return;
  const label = countLabel(count);
  p.fillStyle = '#dc2626';
  p.beginPath();
  p.arc(s - 20, 20, 20, 0, Math.PI * 2);
  p.fill();
  p.fillStyle = '#ffffff';
  p.font = `bold ${label.length > 2 ? 17 : label.length > 1 ? 22 : 28}px sans-serif`;
  p.fillText(label, s - 20, 21);
}
