import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import { AuthClient, decodeChatSummary, decodeTimelineItem, ok, Permissions, type CborMap, type Gateway, type GroupId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import MessageItem from '../MessageItem.vue';

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test';
const BO = '@bob:node.test';

function setup(body: CborMap = { text: 'hi' }) {
  const gw = {
    state: 'connected',
    sent: [] as { method: string; params: unknown }[],
    on: () => () => {},
    request(method: string, params: unknown) {
      this.sent.push({ method, params });
      return Promise.resolve(ok({ group: G, seq: 9, id: '$' + 'A'.repeat(43) }));
    },
  };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore().userId = BO;
  const chats = useChatsStore();
  chats.upsert(
    decodeChatSummary({
      group: G, kind: 'group', name: 'Rust', description: '', visibility: 'private', owner: ANA, members: 2, last_seq: 3,
      read_seq: 3, unread: 0, my_rank: 0xffffffff, my_permissions: Permissions.EVERYONE_DEFAULT, pinned: [],
    }),
  );
  const item = decodeTimelineItem({ seq: 3, id: '$' + 'A'.repeat(43), ts: 1_700_000_000_000, sender: ANA, kind: 'msg.post', body, reactions: [{ emoji: '👍', count: 2, users: [ANA, BO] }] });
  const wrapper = mount(MessageItem, {
    props: { group: G, item, quoted: null, showName: true, menuOpen: true, highlighted: false, ticks: null, seenCount: null },
    global: { plugins: [pinia] },
  });
  return { chats, wrapper, gw };
}

describe('MessageItem', () => {
  afterEach(() => provideSdk(null));

  it('offers only the actions my permissions allow, and follows permission changes live', async () => {
    const { chats, wrapper } = setup();
    const has = (id: string): boolean => wrapper.find(`[data-testid=${id}]`).exists();
    expect(has('action-reply')).toBe(true);
    expect(has('action-react')).toBe(true);
    expect(has('action-edit')).toBe(false); // not mine
    expect(has('action-delete')).toBe(false); // no manage_messages
    expect(has('msg-action-pin')).toBe(false); // no pin_messages

    const e = chats.entry(G)!;
    e.summary = { ...e.summary, myPermissions: Permissions.with(Permissions.with(e.summary.myPermissions, 'manage_messages', true), 'pin_messages', true) };
    await nextTick();
    expect(has('action-delete')).toBe(true);
    expect(has('msg-action-pin')).toBe(true);

    e.left = 'kicked';
    await nextTick();
    expect(has('action-reply')).toBe(false);
    expect(has('action-delete')).toBe(false);
  });

  it('shows who a forwarded message is from, and offers copy, forward and select', async () => {
    const { wrapper, chats } = setup({ text: 'fw', forwarded: { user: '@cyd:node.test', ts: 5 } });
    chats.names['@cyd:node.test'] = 'Cyd';
    await nextTick();
    expect(wrapper.get('[data-testid=forwarded-from]').text()).toBe('Forwarded from Cyd');
    for (const id of ['action-copy', 'action-forward', 'action-select']) expect(wrapper.find(`[data-testid=${id}]`).exists()).toBe(true);
    await wrapper.get('[data-testid=action-forward]').trigger('click');
    expect(wrapper.emitted('forward')).toHaveLength(1);
  });

  it('asks the list to delete (its dialog), never window.confirm; selects on click in select mode', async () => {
    const { wrapper, chats } = setup();
    const confirm = vi.fn(() => true);
    vi.stubGlobal('confirm', confirm);
    const e = chats.entry(G)!;
    e.summary = { ...e.summary, myPermissions: Permissions.with(e.summary.myPermissions, 'manage_messages', true) };
    await nextTick();
    await wrapper.get('[data-testid=action-delete]').trigger('click');
    expect(wrapper.emitted('remove')).toHaveLength(1);
    expect(confirm).not.toHaveBeenCalled();
    await wrapper.setProps({ selecting: true, selected: false, menuOpen: false });
    expect(wrapper.find('[data-testid=message-actions]').exists()).toBe(false);
    await wrapper.get('[data-testid=message]').trigger('click');
    expect(wrapper.emitted('select')).toHaveLength(1);
    await wrapper.get('[data-testid=message]').trigger('contextmenu');
    expect(wrapper.emitted('select')).toHaveLength(2);
    vi.unstubAllGlobals();
  });

  it('badges a sender of another node with their node, and no local one', async () => {
    const { wrapper, chats } = setup();
    expect(wrapper.get('[data-testid=message-sender]').attributes('title')).toBe(ANA);
    expect(wrapper.find('[data-testid=node-badge]').exists()).toBe(false);
    const far = '@zed:far.test';
    chats.names[far] = 'Zed';
    await wrapper.setProps({ item: decodeTimelineItem({ seq: 4, id: '$' + 'C'.repeat(42) + 'A', ts: 1_700_000_000_001, sender: far, kind: 'msg.post', body: { text: 'from afar' } }) });
    expect(wrapper.get('[data-testid=message-sender]').text()).toBe('Zed');
    expect(wrapper.get('[data-testid=message-sender]').attributes('title')).toBe(far);
    expect(wrapper.get('[data-testid=node-badge]').text()).toBe('far.test');
  });

  it('shows reaction chips with counts and who, and toggles mine off', async () => {
    const { wrapper, gw } = setup();
    const chip = wrapper.find('[data-testid=reaction]');
    expect(chip.text()).toContain('2');
    expect(chip.attributes('title')).toBe('ana, bob');
    expect(chip.attributes('aria-pressed')).toBe('true');
    await chip.trigger('click');
    expect(gw.sent.at(-1)).toMatchObject({ method: 'msgs.react', params: { group: G, seq: 3, emoji: '👍', on: false } });
  });

  it('highlights the mentions the message carries and marks a message that mentions me', () => {
    const { wrapper } = setup({ text: 'hey @bob and @carl, ping @ana', mentions: [BO, ANA] });
    const mentions = wrapper.findAll('[data-testid=mention]');
    expect(mentions.map((m) => m.text())).toEqual(['@bob', '@ana']);
    expect(mentions[0]?.attributes('data-me')).toBe('true');
    expect(mentions[1]?.attributes('data-me')).toBeUndefined();
    expect(wrapper.find('[data-testid=message-text]').text()).toBe('hey @bob and @carl, ping @ana');
    expect(wrapper.find('[data-testid=message]').attributes('data-mentions-me')).toBe('true');
  });

  it('does not mark a message that mentions only others', () => {
    const { wrapper } = setup({ text: 'hey @ana @everyone', mentions: [ANA] });
    expect(wrapper.findAll('[data-testid=mention]').map((m) => m.text())).toEqual(['@ana']);
    expect(wrapper.find('[data-testid=message]').attributes('data-mentions-me')).toBeUndefined();
  });
});
