import { watch, type Ref } from 'vue';

import { useChatsStore } from '@/stores/chats';

import { browserStorage, loadDraft, saveDraft } from './drafts';

/**
 * Keeps the composer's text as the open chat's draft (see `drafts.ts`): saved as it changes
 * (not while an edit of a sent message is in the box), cleared when sent (the box empties).
 * `draftOf(group)` is what to put in the box when a chat opens.
 */
export function useDraft(group: () => string, text: Ref<string>, editing: () => boolean): { draftOf: (group: string) => string } {
  const chats = useChatsStore();
  const storage = browserStorage();

  function draftOf(g: string): string {
    const me = chats.me;
    return me === null ? '' : loadDraft(storage, me, g);
  }

  watch(text, (value) => {
    const me = chats.me;
    if (me !== null && !editing()) saveDraft(storage, me, group(), value);
  });

  return { draftOf };
}
