/**
 * The presence store: who is online, and when the others were last seen.
 *
 *   const presence = usePresenceStore();
 *   presence.of(user)        Presence | undefined (reactive): {status, lastSeen?}; undefined
 *                            while unknown (not asked yet, or not sharing a chat with me)
 *   presence.isOnline(user)  boolean
 *   presence.focus(group)    the opened group: its first 100 members are asked about
 *   presence.refresh(users)  asks the node again (`presence.get`, batches of ≤ 100)
 *
 * Sources: `presence` pushes (the node sends one whenever someone who shares a chat with me
 * comes online or goes offline) and `presence.get` for the peers of my direct chats (whenever
 * one appears in the chat list), for the members of the focused group, and for everyone known
 * again after a reconnect (pushes may have been missed while away).
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';

import { getPresence, MAX_PRESENCE_USERS, type GroupId, type PresenceEvent } from '@/protocol';
import { useSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

export interface Presence {
  readonly status: 'online' | 'offline';
  /** Unix ms; may be absent for offline users the node has not seen recently. */
  readonly lastSeen?: number;
}

/** How many members of the focused group are asked about. */
export const GROUP_PRESENCE_MEMBERS = MAX_PRESENCE_USERS;
/** The node pushes presence changes to the members of groups up to this size only. */
export const PUSHED_GROUP_MEMBERS = 500;

export const usePresenceStore = defineStore('presence', () => {
  const { gateway } = useSdk();
  const session = useSessionStore();
  const chats = useChatsStore();

  const byUser = ref<Record<string, Presence>>({});
  /** Users asked about (answered or not): not asked again unless refreshed. */
  const asked = new Set<string>();
  /** user → how many pushes were applied; a reply older than a push does not overwrite it. */
  const pushes = new Map<string, number>();
  const focused = ref<GroupId | null>(null);
  /** Bumped by `reset()`: replies to requests of an earlier session are dropped. */
  let generation = 0;

  function of(user: string): Presence | undefined {
    return byUser.value[user];
  }

  function isOnline(user: string): boolean {
    return byUser.value[user]?.status === 'online';
  }

  function toPresence(p: PresenceEvent): Presence {
    return p.lastSeen === undefined ? { status: p.status } : { status: p.status, lastSeen: p.lastSeen };
  }

  /** A `presence` push. */
  function apply(p: PresenceEvent): void {
    pushes.set(p.user, (pushes.get(p.user) ?? 0) + 1);
    asked.add(p.user);
    const before = byUser.value[p.user];
    // An `online` push carries no last_seen: keep the one known, for when they leave again.
    const lastSeen = p.lastSeen ?? before?.lastSeen;
    byUser.value[p.user] = lastSeen === undefined ? { status: p.status } : { status: p.status, lastSeen };
  }

  /** Asks the node about `users` (in batches of ≤ 100). */
  async function refresh(users: Iterable<string>): Promise<void> {
    const list = [...new Set(users)].filter((u) => u.startsWith('@'));
    if (list.length === 0) return;
    for (const u of list) asked.add(u);
    const gen = generation;
    const batches: string[][] = [];
    for (let i = 0; i < list.length; i += MAX_PRESENCE_USERS) batches.push(list.slice(i, i + MAX_PRESENCE_USERS));
    await Promise.all(
      batches.map(async (batch) => {
        const seen = new Map(batch.map((u) => [u, pushes.get(u) ?? 0]));
        const r = await getPresence(gateway, batch);
        if (gen !== generation) return;
        if (!r.ok) {
          // Ask again next time (after a reconnect, or when the user shows up again).
          for (const u of batch) if (!byUser.value[u]) asked.delete(u);
          return;
        }
        const answered = new Set<string>();
        for (const p of r.value) {
          answered.add(p.user);
          if ((pushes.get(p.user) ?? 0) !== seen.get(p.user)) continue; // a push came meanwhile
          byUser.value[p.user] = toPresence(p);
        }
        // Left out: no chat in common (any more). Forget what we had, unless a push came.
        for (const u of batch) {
          if (!answered.has(u) && (pushes.get(u) ?? 0) === seen.get(u)) delete byUser.value[u];
        }
      }),
    );
  }

  /** Asks about the users not asked about yet. */
  function ensure(users: Iterable<string>): Promise<void> {
    return refresh([...users].filter((u) => !asked.has(u)));
  }

  /** The opened group (or none): its first members' presence is fetched. */
  function focus(group: GroupId | null): void {
    focused.value = group;
  }

  /**
   * The members list of `group` is shown: ask about its first members. The node pushes presence
   * changes only for groups of at most 500 members, so a bigger group is asked again each time.
   */
  function showMembers(group: GroupId): Promise<void> {
    const e = chats.entry(group);
    const members = (e?.detail?.members ?? []).slice(0, GROUP_PRESENCE_MEMBERS).map((m) => m.user as string);
    const big = Math.max(e?.summary.members ?? 0, e?.detail?.members.length ?? 0) > PUSHED_GROUP_MEMBERS;
    return big ? refresh(members) : ensure(members);
  }

  const dmPeers = computed(() => {
    const out: string[] = [];
    for (const e of chats.list) if (e.summary.kind === 'direct' && e.summary.peer !== undefined && e.left === null) out.push(e.summary.peer);
    return out;
  });

  const focusedMembers = computed(() => {
    const g = focused.value;
    if (g === null) return [];
    const e = chats.entry(g);
    if (e === undefined || e.summary.kind !== 'group' || e.left !== null) return [];
    return (e.detail?.members ?? []).slice(0, GROUP_PRESENCE_MEMBERS).map((m) => m.user as string);
  });

  /** Everyone shown with a presence right now. */
  function watched(): string[] {
    return [...new Set([...dmPeers.value, ...focusedMembers.value])];
  }

  watch(dmPeers, (peers) => void ensure(peers), { immediate: true });
  watch(focusedMembers, (members) => void ensure(members), { immediate: true });

  /** After a reconnect pushes may have been missed: ask again about everyone shown. */
  function resync(): Promise<void> {
    return refresh([...new Set([...watched(), ...Object.keys(byUser.value)])]);
  }

  // A reconnect (resumed or not: the `resync` case included) asks again about everyone shown.
  let away = false;
  gateway.on('state', (s) => {
    if (s === 'reconnecting') away = true;
  });
  gateway.on('ready', () => {
    if (!away) return;
    away = false;
    void resync();
  });
  gateway.on('presence', apply);
  gateway.on('signedOut', () => reset());
  watch(
    () => session.userId,
    (now, before) => {
      if (now !== before) reset();
    },
  );

  function reset(): void {
    generation += 1;
    byUser.value = {};
    asked.clear();
    pushes.clear();
    focused.value = null;
    away = false;
  }

  return { byUser, of, isOnline, apply, refresh, ensure, focus, showMembers, resync, reset };
});
