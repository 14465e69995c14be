/**
 * What every tab of the group panel reads: the chat's detail from the chats store (refreshed by
 * the store when admin events arrive, so everything here is live), the caller as a `Viewer`
 * for the permission mirror, names, and a helper that runs one write with busy/error state.
 */
import { computed, ref, toRaw, toValue, type MaybeRefOrGetter } from 'vue';

import { EVERYONE_RANK, Permissions, type ChatError, type GroupId, type Result, type Role, type RoleId } from '@/protocol';
import { useChatsStore } from '@/stores/chats';

import { viewerOf, type Viewer } from './rules';

/** A short sentence for a failed call (the node's `Denied` messages are already sentences). */
export function describeError(e: ChatError): string {
  const message = e.message.trim();
  if (message) return message.charAt(0).toUpperCase() + message.slice(1);
  return e.code;
}

export function useGroupAdmin(groupRef: MaybeRefOrGetter<GroupId>) {
  const chats = useChatsStore();
  const group = computed(() => toValue(groupRef));
  const entry = computed(() => chats.entry(group.value));
  const detail = computed(() => entry.value?.detail ?? null);
  const summary = computed(() => detail.value?.chat ?? entry.value?.summary ?? null);
  const left = computed(() => entry.value?.left ?? null);
  const me = computed(() => chats.me ?? '');

  /** The caller; once they left (or were removed) they may do nothing. */
  const viewer = computed<Viewer | null>(() => {
    const s = entry.value?.summary ?? summary.value;
    if (s === null || s === undefined) return null;
    const v = viewerOf(s, me.value);
    return left.value === null ? v : { ...v, myRank: EVERYONE_RANK, myPermissions: Permissions.NONE, owner: v.owner === v.me ? '' : v.owner };
  });

  const roles = computed<readonly Role[]>(() => detail.value?.roles ?? []);
  const rolesById = computed(() => new Map(roles.value.map((r) => [r.id, r])));

  function role(id: RoleId): Role | undefined {
    return rolesById.value.get(id);
  }

  function name(user: string): string {
    const m = detail.value?.members.find((x) => x.user === user);
    return m?.displayName || chats.displayName(user);
  }

  // The store hands the client out through its reactive proxy; ChatClient's #private fields
  // only work on the object itself.
  const client = toRaw(chats.client);

  return { chats, client, group, entry, detail, summary, left, me, viewer, roles, role, name };
}

/** One action's busy flag and error, and a runner that sets them. */
export function useAction() {
  const busy = ref(false);
  const error = ref<string | null>(null);

  async function run<T>(call: () => Promise<Result<T, ChatError>>): Promise<Result<T, ChatError>> {
    busy.value = true;
    error.value = null;
    try {
      const r = await call();
      if (!r.ok) error.value = describeError(r.error);
      return r;
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, run };
}
