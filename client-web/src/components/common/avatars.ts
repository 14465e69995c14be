/**
 * Who has which avatar (media ids in text form `node/<hex>`), for `Avatar.vue`.
 *
 *   const avatars = useAvatarsStore();
 *   avatars.ofUser(user)        string | null (reactive): my profile's avatar for me; for others
 *                               what a `profile` push or `profile.get` said, else what a loaded
 *                               member list or DM summary says; unknown users are looked up once
 *                               with `profile.get` (null meanwhile).
 *   avatars.ofChat(summary)     the group photo, or for a DM the peer's avatar.
 *   avatars.note(user, id)      record a change I made (my own avatar after `profile.update`).
 */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';

import { checkGatewayMessage, formatMediaId, type ChatSummary, type NodeName } from '@/protocol';
import { useSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

/** A wire media id (`{node, sha256}`) or its text form → the text form, else null. */
export function mediaText(v: unknown): string | null {
  if (typeof v === 'string') return /^[^/]+\/[0-9a-f]{64}$/.test(v) ? v : null;
  if (typeof v !== 'object' || v === null) return null;
  const m = v as { node?: unknown; sha256?: unknown };
  if (typeof m.node !== 'string' || !(m.sha256 instanceof Uint8Array) || m.sha256.length !== 32) return null;
  return formatMediaId({ node: m.node as NodeName, sha256: m.sha256 });
}

export const useAvatarsStore = defineStore('avatars', () => {
  const { gateway } = useSdk();
  const session = useSessionStore();
  const chats = useChatsStore();

  /** user → avatar (null: none), from pushes, lookups and my own changes. */
  const known = ref<Record<string, string | null>>({});
  const asked = new Set<string>();

  gateway.on('profile', (p) => {
    known.value[p.id] = p.avatar ?? null;
  });
  watch(
    () => session.userId,
    (now, before) => {
      if (now !== before) {
        known.value = {};
        asked.clear();
      }
    },
  );

  /** What the loaded chats say about `user`: a member row, or the summary of our DM. */
  function fromChats(user: string): string | null | undefined {
    for (const e of Object.values(chats.entries)) {
      const member = e.detail?.members.find((m) => m.user === user);
      if (member !== undefined) return member.avatar ?? null;
      if (e.summary.kind === 'direct' && e.summary.peer === user && e.summary.photo !== undefined) return e.summary.photo;
    }
    return undefined;
  }

  function lookup(user: string): void {
    if (asked.has(user) || !user.startsWith('@')) return;
    asked.add(user);
    void gateway.request('profile.get', { user }).then((r) => {
      if (!r.ok) return;
      const p = checkGatewayMessage('profile-info', r.value);
      if (p.ok && !(user in known.value)) known.value[user] = mediaText(p.value.avatar);
    });
  }

  function ofUser(user: string): string | null {
    if (user === session.userId && session.profile !== null) return session.profile.avatar ?? null;
    if (user in known.value) return known.value[user] ?? null;
    const fromChat = fromChats(user);
    if (fromChat !== undefined) return fromChat;
    lookup(user);
    return null;
  }

  function ofChat(summary: Pick<ChatSummary, 'kind' | 'peer' | 'photo'>): string | null {
    // A DM summary carries the peer's avatar; a fresher push (or my own change) wins.
    if (summary.kind === 'direct' && summary.peer !== undefined) {
      if (summary.peer === session.userId && session.profile !== null) return session.profile.avatar ?? null;
      if (summary.peer in known.value) return known.value[summary.peer] ?? null;
    }
    if (summary.photo !== undefined) return summary.photo;
    // A node that leaves the peer's avatar out of the summary: ask about the peer.
    return summary.kind === 'direct' && summary.peer !== undefined ? ofUser(summary.peer) : null;
  }

  function note(user: string, avatar: string | null): void {
    known.value[user] = avatar;
  }

  return { ofUser, ofChat, note };
});
