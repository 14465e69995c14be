import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, err, ok, Permissions, type ChatSummary, type Gateway, type GroupId, type Timestamp, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import ChatList from '../ChatList.vue';
import InvitesList from '../InvitesList.vue';

const ME = '@ana:a.test' as UserId;

function chat(group: string, extra: Partial<ChatSummary> = {}): ChatSummary {
  return {
    group: group as GroupId, kind: 'group', name: group, description: '', visibility: 'private', owner: ME, members: 2,
    lastSeq: 1, readSeq: 1, unread: 0, myRank: 0, myPermissions: Permissions.ALL, pinned: [], ...extra,
  };
}

async function setup() {
  const gw = { state: 'connected', on: () => () => {}, request: () => Promise.resolve(err({ code: 'not_found', message: 'no' })) };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  setActivePinia(createPinia());
  useSessionStore().userId = ME;
  const chats = useChatsStore();
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', component: { template: '<div />' } },
      { path: '/chat/:group', name: 'chat', component: { template: '<div />' } },
      { path: '/directory', component: { template: '<div />' } },
    ],
  });
  await router.push('/');
  await router.isReady();
  return { chats, router };
}

describe('node badges in the chat list and invitations', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('badges a group homed elsewhere and a direct chat with someone of another node', async () => {
    const { chats, router } = await setup();
    chats.upsert(chat('!abcdef1:a.test', { name: 'Local' }));
    chats.upsert(chat('!abcdef2:b.test', { name: 'Remote' }));
    // A direct chat homed here with a peer of another node: the peer's node is shown.
    chats.upsert(chat('!abcdef3:a.test', { kind: 'direct', name: '', peer: '@zed:c.test' as UserId }));
    chats.listLoaded = true;
    const w = mount(ChatList, { global: { plugins: [router] }, attachTo: document.body });
    await flushPromises();
    const badge = (g: string) => w.find(`[data-testid=chat-item][data-group="${g}"] [data-testid=node-badge]`);
    expect(badge('!abcdef1:a.test').exists()).toBe(false);
    expect(badge('!abcdef2:b.test').text()).toBe('b.test');
    expect(badge('!abcdef3:a.test').text()).toBe('c.test');
  });

  it('badges an invitation from another node and names that node when accepting fails', async () => {
    const { chats, router } = await setup();
    const group = '!abcdef2:b.test' as GroupId;
    chats.invites = [{ group, name: 'Far group', by: '@bob:b.test' as UserId, at: 1 as Timestamp }];
    const accept = vi.spyOn(chats.client, 'acceptInvite').mockResolvedValue(err({ code: 'unavailable', message: 'node b.test cannot be reached right now' }));
    const w = mount(InvitesList, { global: { plugins: [router] } });
    expect(w.findAll('[data-testid=node-badge]').map((b) => b.text())).toEqual(['b.test', 'b.test']);
    await w.get('[data-testid=invite-accept]').trigger('click');
    await flushPromises();
    expect(accept).toHaveBeenCalledWith(group);
    expect(w.get('[data-testid=invite-error]').text()).toBe('b.test cannot be reached right now. Try again later.');
    expect(w.get('[data-testid=invite-accept]').attributes('disabled')).toBeUndefined();

    accept.mockResolvedValue(ok(chat(group, { name: 'Far group' })));
    await w.get('[data-testid=invite-accept]').trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.params.group).toBe(group);
    expect(chats.invites).toEqual([]);
  });
});
