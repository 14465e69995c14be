/**
 * Whether a chat is muted: the one place the notifications and the tab's unread total ask. The
 * node sends my mute in the chat's summary as `mutedUntil` (ms since the epoch; absent: not
 * muted; a mute that has run out no longer counts).
 */
export function isMuted(entry: { readonly summary: { readonly mutedUntil?: number } } | undefined, now = Date.now()): boolean {
  const until = entry?.summary.mutedUntil;
  return until !== undefined && until > now;
}
