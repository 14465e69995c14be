import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import { AuthClient, decodeChatSummary, decodeTimelineItem, ok, Permissions, type CborMap, type CborValue, type Gateway, type GroupId, type Result, type TimelineItem } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import ChatComposer from '../ChatComposer.vue';

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test';

type Reply = Result<CborValue, { code: string; message: string }>;

/** A gateway whose `msgs.post` and `msgs.edit` answer only when the test says so. */
function setup(editing: TimelineItem | null = null) {
  const answers: ((r: Reply) => void)[] = [];
  const gw = {
    state: 'connected',
    sent: [] as { method: string; params: CborMap }[],
    on: () => () => {},
    request(method: string, params: CborMap): Promise<Reply> {
      this.sent.push({ method, params });
      if (method !== 'msgs.post' && method !== 'msgs.edit') return Promise.resolve(ok({}));
      return new Promise((resolve) => answers.push(resolve));
    },
  };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore().userId = ANA;
  const chats = useChatsStore();
  chats.upsert(
    decodeChatSummary({
      group: G, kind: 'group', name: 'Rust', description: '', visibility: 'private', owner: ANA, members: 1, last_seq: 3,
      read_seq: 3, unread: 0, my_rank: 0, my_permissions: Permissions.EVERYONE_DEFAULT, pinned: [],
    }),
  );
  const wrapper = mount(ChatComposer, { props: { group: G, replyTo: null, editing }, global: { plugins: [pinia] }, attachTo: document.body });
  const box = wrapper.find<HTMLTextAreaElement>('[data-testid=composer]');
  async function type(value: string): Promise<void> {
    box.element.value = value;
    await box.trigger('input');
    await nextTick();
  }
  const posts = (method = 'msgs.post') => gw.sent.filter((s) => s.method === method).map((s) => s.params);
  return { chats, wrapper, box, type, posts, answers };
}

describe('ChatComposer sending', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('is free at once on Enter: what is typed during a send stays, and each Enter queues a message in order', async () => {
    const { chats, wrapper, box, type, posts, answers } = setup();
    await type('one');
    await box.trigger('keydown', { key: 'Enter' });
    await nextTick();
    expect(box.element.value).toBe('');
    // Typed and sent while "one" has no answer yet: neither is lost.
    await type('two');
    await box.trigger('keydown', { key: 'Enter' });
    await nextTick();
    expect(box.element.value).toBe('');
    await type('and then more');
    await flushPromises();
    expect(chats.pending(G).map((o) => [o.text, o.state])).toEqual([
      ['one', 'sending'],
      ['two', 'queued'],
    ]);
    answers[0]?.(ok({ group: G, seq: 4, id: '$' + 'A'.repeat(43) }));
    await flushPromises();
    answers[1]?.(ok({ group: G, seq: 5, id: '$' + 'A'.repeat(43) }));
    await flushPromises();
    expect(box.element.value).toBe('and then more');
    expect(posts().map((p) => p.text)).toEqual(['one', 'two']);
    const txns = posts().map((p) => p.txn);
    expect(new Set(txns).size).toBe(2);
    wrapper.unmount();
  });

  it('keeps an edit typed further while the previous text was being saved, in edit mode, to save next', async () => {
    const item = decodeTimelineItem({ seq: 3, id: '$' + 'A'.repeat(43), ts: 1, sender: ANA, kind: 'msg.post', body: { text: 'typo hree' } });
    const { wrapper, box, type, posts, answers } = setup(item);
    await nextTick();
    await type('typo here');
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    await type('typo here, fixed');
    answers[0]?.(ok({ group: G, seq: 4, id: '$' + 'A'.repeat(43) }));
    await flushPromises();
    expect(box.element.value).toBe('typo here, fixed');
    expect(wrapper.emitted('cancelEdit')).toBeUndefined();
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    answers[1]?.(ok({ group: G, seq: 5, id: '$' + 'A'.repeat(43) }));
    await flushPromises();
    expect(posts('msgs.edit').map((p) => p.text)).toEqual(['typo here', 'typo here, fixed']);
    expect(wrapper.emitted('cancelEdit')).toHaveLength(1);
    wrapper.unmount();
  });
});
