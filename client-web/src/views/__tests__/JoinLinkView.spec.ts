import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, Gateway, Permissions, type ChatSummary, type GroupId, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';

import JoinLinkView from '../JoinLinkView.vue';

const G = '!abcdef1:node.test' as GroupId;

async function setup() {
  const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
  provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://node.test/ws' }) });
  setActivePinia(createPinia());
  const chats = useChatsStore();
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', component: { template: '<div />' } },
      { path: '/join/:code', name: 'join', component: JoinLinkView },
      { path: '/chat/:group', name: 'chat', component: { template: '<div data-testid="chat" />' } },
    ],
  });
  await router.push('/join/abc123');
  await router.isReady();
  return { chats, router };
}

const summary: ChatSummary = {
  group: G, kind: 'group', name: 'Crabs', description: '', visibility: 'private', owner: '@o:node.test' as UserId, members: 3,
  lastSeq: 5, readSeq: 5, unread: 0, myRank: 4294967295, myPermissions: Permissions.EVERYONE_DEFAULT, pinned: [],
};

describe('join link view', () => {
  afterEach(() => provideSdk(null));

  it('previews the group, joins and opens the chat', async () => {
    const { chats, router } = await setup();
    const preview = vi.spyOn(chats.client, 'previewLink').mockResolvedValue({ ok: true, value: { group: G, name: 'Crabs', description: 'Sideways', members: 3 } });
    const redeem = vi.spyOn(chats.client, 'redeemLink').mockResolvedValue({ ok: true, value: summary });
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(preview).toHaveBeenCalledWith('abc123');
    expect(w.get('[data-testid=join-name]').text()).toBe('Crabs');
    expect(w.get('[data-testid=join-members]').text()).toBe('3 members');
    await w.get('[data-testid=join-submit]').trigger('click');
    await flushPromises();
    expect(redeem).toHaveBeenCalledWith('abc123');
    expect(chats.entry(G)?.summary.name).toBe('Crabs');
    expect(router.currentRoute.value.params.group).toBe(G);
  });

  it('explains a dead link', async () => {
    const { chats, router } = await setup();
    vi.spyOn(chats.client, 'previewLink').mockResolvedValue({ ok: false, error: { code: 'not_found', message: 'no such link' } });
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(w.get('[data-testid=join-error]').text()).toContain('invalid, expired');
    expect(w.find('[data-testid=join-submit]').exists()).toBe(false);
  });
});
