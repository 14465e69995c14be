/**
 * The message actions a chat's message list runs for one or many messages: delete (after the
 * app's confirmation dialog), forward (through the forward dialog), and multi-select mode.
 */
import { computed, ref, type Ref } from 'vue';

import type ConfirmDialog from '@/components/common/ConfirmDialog.vue';
import type { GroupId, TimelineItem } from '@/protocol';
import { useChatsStore } from '@/stores/chats';

import type ForwardDialog from './ForwardDialog.vue';

export function useMessageSelection(group: () => GroupId, items: () => readonly TimelineItem[], confirm: Ref<InstanceType<typeof ConfirmDialog> | null>, forwardDialog: Ref<InstanceType<typeof ForwardDialog> | null>) {
  const chats = useChatsStore();
  const selecting = ref(false);
  const selected = ref<ReadonlySet<number>>(new Set());
  const error = ref<string | null>(null);

  const chosen = computed(() => items().filter((i) => selected.value.has(i.seq) && !i.deleted));
  /** The messages I may delete (my own while a member, others' with manage_messages). */
  const deletable = computed(() => chosen.value.filter((i) => mayDelete(i)));

  function mayDelete(i: TimelineItem): boolean {
    const g = group();
    return i.sender === chats.me ? chats.entry(g)?.left === null : chats.can(g, 'manage_messages');
  }

  function toggle(seq: number): void {
    const next = new Set(selected.value);
    if (next.has(seq)) next.delete(seq);
    else next.add(seq);
    selected.value = next;
    selecting.value = true;
  }

  function stop(): void {
    selecting.value = false;
    selected.value = new Set();
  }

  async function removeMany(list: readonly TimelineItem[]): Promise<boolean> {
    if (list.length === 0) return false;
    const ok = await confirm.value?.ask({
      title: list.length === 1 ? 'Delete message' : `Delete ${list.length} messages`,
      message: list.length === 1 ? 'Delete this message for everyone?' : `Delete these ${list.length} messages for everyone?`,
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return false;
    error.value = null;
    for (const i of list) {
      const r = await chats.client.deleteMessage(group(), i.seq);
      if (!r.ok) {
        error.value = `Could not delete: ${r.error.message}`;
        return false;
      }
    }
    return true;
  }

  async function removeOne(item: TimelineItem): Promise<void> {
    await removeMany([item]);
  }

  async function removeSelected(): Promise<void> {
    if (await removeMany(deletable.value)) stop();
  }

  function forward(list: readonly TimelineItem[]): void {
    if (list.length > 0) forwardDialog.value?.open(group(), list);
  }

  return { selecting, selected, chosen, deletable, error, toggle, stop, removeOne, removeSelected, forward };
}
