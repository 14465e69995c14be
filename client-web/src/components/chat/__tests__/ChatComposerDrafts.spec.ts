import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import { AuthClient, decodeChatSummary, decodeTimelineItem, ok, Permissions, type CborMap, type Gateway, type GroupId, type TimelineItem } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import ChatComposer from '../ChatComposer.vue';
import { draftKey, loadDraft } from '../drafts';

const G = '!abcdef123:node.test' as GroupId;
const H = '!ghijkl456:node.test' as GroupId;
const ANA = '@ana:node.test';

function setup() {
  const gw = {
    state: 'connected',
    sent: [] as { method: string; params: CborMap }[],
    on: () => () => {},
    request(method: string, params: CborMap) {
      this.sent.push({ method, params });
      return Promise.resolve(ok({ group: G, seq: 9, id: '$' + 'A'.repeat(43) }));
    },
  };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore().userId = ANA;
  const chats = useChatsStore();
  for (const group of [G, H]) {
    chats.upsert(
      decodeChatSummary({
        group, kind: 'group', name: 'Rust', description: '', visibility: 'private', owner: ANA, members: 1, last_seq: 3,
        read_seq: 3, unread: 0, my_rank: 0, my_permissions: Permissions.EVERYONE_DEFAULT, pinned: [],
      }),
    );
  }
  const wrapper = mount(ChatComposer, { props: { group: G, replyTo: null, editing: null }, global: { plugins: [pinia] }, attachTo: document.body });
  const box = wrapper.find<HTMLTextAreaElement>('[data-testid=composer]');
  async function type(value: string): Promise<void> {
    box.element.value = value;
    await box.trigger('input');
    await nextTick();
  }
  return { wrapper, gw, box, type };
}

function mine(seq: number, text: string): TimelineItem {
  return decodeTimelineItem({ seq, id: '$' + 'A'.repeat(43), ts: 1_700_000_000_000, sender: ANA, kind: 'msg.post', body: { text } });
}

describe('ChatComposer drafts', () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => {
    provideSdk(null);
    localStorage.clear();
    document.body.innerHTML = '';
  });

  it('keeps each chat’s draft when switching, and brings it back', async () => {
    const { wrapper, box, type } = setup();
    await type('for G');
    await wrapper.setProps({ group: H });
    expect(box.element.value).toBe('');
    await type('for H');
    await wrapper.setProps({ group: G });
    expect(box.element.value).toBe('for G');
    await wrapper.setProps({ group: H });
    expect(box.element.value).toBe('for H');
    expect([loadDraft(localStorage, ANA, G), loadDraft(localStorage, ANA, H)]).toEqual(['for G', 'for H']);
  });

  it('starts with the kept draft (after a reload) and clears it on send', async () => {
    localStorage.setItem(draftKey(ANA, G), 'typed before the reload');
    const { box, gw } = setup();
    expect(box.element.value).toBe('typed before the reload');
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(gw.sent.find((s) => s.method === 'msgs.post')?.params.text).toBe('typed before the reload');
    expect(box.element.value).toBe('');
    expect(localStorage.getItem(draftKey(ANA, G))).toBeNull();
  });

  it('does not keep the text of a message being edited as the draft, and switching chats mid-edit keeps both drafts', async () => {
    const { wrapper, box, type } = setup();
    await type('my draft');
    await wrapper.setProps({ editing: mine(2, 'sent text') });
    expect(box.element.value).toBe('sent text');
    await type('sent text, changed');
    expect(loadDraft(localStorage, ANA, G)).toBe('my draft');
    // The chat view drops the edit when the chat changes: both props change at once.
    localStorage.setItem(draftKey(ANA, H), 'draft of H');
    await wrapper.setProps({ group: H, editing: null });
    expect(box.element.value).toBe('draft of H');
    expect(loadDraft(localStorage, ANA, G)).toBe('my draft');
    await wrapper.setProps({ group: G });
    expect(box.element.value).toBe('my draft');
  });
});
