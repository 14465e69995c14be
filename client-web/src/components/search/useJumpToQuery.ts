import { watch, type Ref } from 'vue';
import { useRoute, useRouter } from 'vue-router';

import type { GroupId } from '@/protocol';
import { useChatsStore } from '@/stores/chats';

import { seqOfQuery } from './search';

/** Bounds the wait for the chat's message list to appear (polls of 50 ms). */
const MAX_WAITS = 100;

/**
 * Jumps to the message of the route's `?seq=` once the chat `group` is open (the list may
 * mount after the chat loads), then drops the query so a reload or going back does not jump
 * again.
 */
export function useJumpToQuery(group: Ref<GroupId>, jump: (seq: number) => Promise<void> | undefined): void {
  const route = useRoute();
  const router = useRouter();
  const chats = useChatsStore();
  watch(
    () => [group.value, route.query.seq] as const,
    async ([g, raw]) => {
      const seq = seqOfQuery(raw);
      if (seq === null) return;
      await chats.open(g);
      // Wait for the chat's first page and its message list, so the jump lands after them.
      for (let i = 0; i < MAX_WAITS; i++) {
        const e = chats.entry(g);
        if (e === undefined && i > 0) break;
        const done = e?.loaded && !e.loading ? jump(seq) : undefined;
        if (done !== undefined) {
          await done;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (group.value === g && seqOfQuery(route.query.seq) === seq) {
        const query = { ...route.query };
        delete query.seq;
        await router.replace({ query });
      }
    },
    { immediate: true },
  );
}
