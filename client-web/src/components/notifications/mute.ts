/**
 * Whether a chat is muted: the one place the notifications ask. Chat mute (with a duration) is
 * read from the chat's summary when the node sends it: `muted: true`, or `mutedUntil` (ms since
 * the epoch, 0 or absent: not muted). Until then nothing is muted.
 */
import type { ChatEntry } from '@/stores/chats';

export function isMuted(entry: ChatEntry | undefined, now = Date.now()): boolean {
  if (entry === undefined) return false;
  const summary: object = entry.summary;
  if ('muted' in summary && summary.muted === true) return true;
  if ('mutedUntil' in summary && typeof summary.mutedUntil === 'number') return summary.mutedUntil > now;
  return false;
}
