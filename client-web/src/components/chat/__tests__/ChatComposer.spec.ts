import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import { AuthClient, decodeChatDetail, decodeChatSummary, ok, Permissions, type CborMap, type Gateway, type GroupId, type PermissionSet } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import ChatComposer from '../ChatComposer.vue';

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test';
const BO = '@bob:node.test';
const CY = '@cyril:node.test';

function setup(opts: { permissions?: PermissionSet; kind?: 'group' | 'direct' } = {}) {
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
  const summary = {
    group: G, kind: opts.kind ?? 'group', name: 'Rust', description: '', visibility: 'private', owner: ANA, members: 3, last_seq: 3,
    read_seq: 3, unread: 0, my_rank: 0xffffffff, my_permissions: opts.permissions ?? Permissions.EVERYONE_DEFAULT, pinned: [],
  };
  const member = (user: string, name: string) => ({ user, display_name: name, roles: [], rank: 0xffffffff, joined_at: 1, read_seq: 0 });
  const e = chats.upsert(decodeChatSummary(summary));
  e.detail = decodeChatDetail({
    chat: summary,
    members: [member(ANA, 'Ana'), member(BO, 'Bo Stone'), member(CY, 'Cyril')],
    roles: [{ id: 0, name: 'everyone', colour: '', permissions: Permissions.EVERYONE_DEFAULT, rank: 0xffffffff }],
  });
  const wrapper = mount(ChatComposer, { props: { group: G, replyTo: null, editing: null }, global: { plugins: [pinia] }, attachTo: document.body });
  const box = wrapper.find<HTMLTextAreaElement>('[data-testid=composer]');
  async function type(value: string): Promise<void> {
    box.element.value = value;
    box.element.setSelectionRange(value.length, value.length);
    await box.trigger('input');
    await nextTick();
  }
  const options = () => wrapper.findAll('[data-testid=mention-option]').map((o) => o.attributes('data-user') ?? o.attributes('data-kind'));
  return { chats, wrapper, gw, box, type, options };
}

describe('ChatComposer mentions', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('suggests members as I type, picks with the keyboard and sends their ids', async () => {
    const { wrapper, gw, box, type, options } = setup();
    await type('hi @');
    expect(options()).toEqual([BO, CY]); // not me, no @everyone without the permission
    await type('hi @st');
    expect(options()).toEqual([BO]); // display name "Bo Stone"
    await type('hi @');
    await box.trigger('keydown', { key: 'ArrowDown' });
    expect(wrapper.findAll('[data-testid=mention-option]')[1]?.attributes('aria-selected')).toBe('true');
    await box.trigger('keydown', { key: 'Enter' });
    await nextTick();
    expect(box.element.value).toBe('hi @cyril ');
    expect(options()).toEqual([]);

    await type('hi @cyril and @b');
    await box.trigger('keydown', { key: 'Tab' });
    await nextTick();
    expect(box.element.value).toBe('hi @cyril and @bob ');
    // Enter now sends; the post carries both ids.
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(gw.sent.at(-1)).toMatchObject({ method: 'msgs.post', params: { group: G, text: 'hi @cyril and @bob', mentions: [CY, BO] } });
    expect(gw.sent.at(-1)?.params.mention_everyone).toBeUndefined();
    wrapper.unmount();
  });

  it('closes with Escape, works with the mouse, and does not send mentions deleted from the text', async () => {
    const { wrapper, gw, box, type, options } = setup();
    await type('@c');
    await box.trigger('keydown', { key: 'Escape' });
    expect(options()).toEqual([]);
    await type('@cy'); // still the same @: stays closed
    expect(options()).toEqual([]);
    await type('@cy @');
    expect(options()).toEqual([BO, CY]);
    await wrapper.findAll('[data-testid=mention-option]')[0]?.trigger('click');
    await nextTick();
    expect(box.element.value).toBe('@cy @bob ');
    await type('@cy hello');
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    const post = gw.sent.at(-1);
    expect(post).toMatchObject({ method: 'msgs.post', params: { text: '@cy hello' } });
    expect(post?.params.mentions).toBeUndefined();
    wrapper.unmount();
  });

  it('offers @everyone with mention_everyone in a group, and sets mention_everyone only when it remains', async () => {
    const { wrapper, gw, box, type, options } = setup({ permissions: Permissions.ALL });
    await type('@');
    expect(options()).toEqual(['everyone', BO, CY]);
    await box.trigger('keydown', { key: 'Enter' });
    await nextTick();
    expect(box.element.value).toBe('@everyone ');
    await type('@everyone meeting now');
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(gw.sent.at(-1)).toMatchObject({ method: 'msgs.post', params: { text: '@everyone meeting now', mention_everyone: true } });
    wrapper.unmount();
  });

  it('never offers or sends @everyone in a direct chat', async () => {
    const { wrapper, gw, box, type, options } = setup({ permissions: Permissions.ALL, kind: 'direct' });
    await type('@ev');
    expect(options()).toEqual([]);
    await type('@everyone hi');
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(gw.sent.at(-1)?.params.mention_everyone).toBeUndefined();
    wrapper.unmount();
  });
});
