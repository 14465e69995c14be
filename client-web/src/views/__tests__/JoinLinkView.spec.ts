import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, err, Gateway, ok, Permissions, type ChatSummary, type GroupId, type Handle, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

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

describe('join by handle', () => {
  afterEach(() => provideSdk(null));

  async function at(path: string) {
    const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
    provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://node.test/ws' }) });
    setActivePinia(createPinia());
    useSessionStore().userId = '@ana:node.test';
    const chats = useChatsStore();
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: '/', component: { template: '<div />' } },
        { path: '/join/:code', name: 'join', component: JoinLinkView },
        { path: '/chat/:group', name: 'chat', component: { template: '<div data-testid="chat" />' } },
      ],
    });
    await router.push(path);
    await router.isReady();
    return { chats, router };
  }

  const R = '!zyxwvu9:b.test' as GroupId;
  const entry = { group: R, handle: '#crabs:b.test' as Handle, name: 'Crabs', description: 'Far away', members: 2, joined: false };

  it('shows a group of another node by its #handle:node and joins it by handle', async () => {
    const { chats, router } = await at('/join/%23crabs:b.test');
    const directory = vi.spyOn(chats.client, 'directory').mockResolvedValue(ok([entry]));
    const join = vi.spyOn(chats.client, 'join').mockResolvedValue(ok({ ...summary, group: R }));
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(directory).toHaveBeenCalledWith('#crabs:b.test', 20);
    expect(w.get('[data-testid=join-name]').text()).toBe('Crabs');
    expect(w.get('[data-testid=join-handle]').text()).toContain('#crabs:b.test');
    expect(w.get('[data-testid=node-badge]').text()).toBe('b.test');
    await w.get('[data-testid=join-submit]').trigger('click');
    await flushPromises();
    expect(join).toHaveBeenCalledWith({ handle: '#crabs:b.test' });
    expect(router.currentRoute.value.params.group).toBe(R);
  });

  it('says the node cannot be reached or refused, instead of spinning', async () => {
    const { chats, router } = await at('/join/%23crabs:b.test');
    const directory = vi.spyOn(chats.client, 'directory').mockResolvedValue(err({ code: 'unavailable', message: 'node b.test cannot be reached right now' }));
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(w.find('[aria-label=Loading]').exists()).toBe(false);
    expect(w.get('[data-testid=join-error]').text()).toBe('b.test cannot be reached right now. Try again later.');

    directory.mockResolvedValue(ok([entry]));
    const join = vi.spyOn(chats.client, 'join').mockResolvedValue(err({ code: 'forbidden', message: 'you are banned from this group' }));
    const again = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    await again.get('[data-testid=join-submit]').trigger('click');
    await flushPromises();
    expect(join).toHaveBeenCalled();
    expect(again.get('[data-testid=join-error]').text()).toBe('b.test refused: you are banned from this group.');
    // A refusal that stands: Join is not offered again.
    expect(again.get('[data-testid=join-submit]').attributes('disabled')).toBeDefined();
  });

  it('looks up a handle of this node by its name part', async () => {
    const { chats, router } = await at('/join/%23home:node.test');
    const directory = vi.spyOn(chats.client, 'directory').mockResolvedValue(ok([{ ...entry, group: G, handle: '#home:node.test' as Handle, name: 'Home' }]));
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(directory).toHaveBeenCalledWith('home', 20);
    expect(w.get('[data-testid=join-name]').text()).toBe('Home');
    expect(w.find('[data-testid=node-badge]').exists()).toBe(false);

    directory.mockResolvedValue(ok([]));
    const none = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(none.get('[data-testid=join-error]').text()).toBe('There is no public group #home:node.test.');
  });
});

describe('invite link of another node', () => {
  afterEach(() => provideSdk(null));

  const RG = '!remote1:a.test' as GroupId;
  const remoteSummary: ChatSummary = { ...summary, group: RG, owner: '@o:a.test' as UserId };

  async function at(path: string) {
    const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
    provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://b.test/ws' }) });
    setActivePinia(createPinia());
    useSessionStore().userId = '@bob:b.test';
    const chats = useChatsStore();
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: '/', component: { template: '<div />' } },
        { path: '/join/:code', name: 'join', component: JoinLinkView },
        { path: '/chat/:group', name: 'chat', component: { template: '<div data-testid="chat" />' } },
      ],
    });
    await router.push(path);
    await router.isReady();
    return { chats, router };
  }

  it('previews the link at its node and redeems it there, through this node', async () => {
    const { chats, router } = await at('/join/abc123?node=a.test');
    const preview = vi.spyOn(chats.client, 'previewLink').mockResolvedValue(ok({ group: RG, name: 'Far crabs', description: '', members: 2 }));
    const redeem = vi.spyOn(chats.client, 'redeemLink').mockResolvedValue(ok(remoteSummary));
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(preview).toHaveBeenCalledWith('abc123', 'a.test');
    expect(w.get('[data-testid=join-name]').text()).toBe('Far crabs');
    expect(w.get('[data-testid=node-badge]').text()).toContain('a.test');
    await w.get('[data-testid=join-submit]').trigger('click');
    await flushPromises();
    expect(redeem).toHaveBeenCalledWith('abc123', undefined, 'a.test');
    expect(router.currentRoute.value.params.group).toBe(RG);
  });

  it('treats ?node= naming the user’s own node as a local link', async () => {
    const { chats, router } = await at('/join/abc123?node=b.test');
    const preview = vi.spyOn(chats.client, 'previewLink').mockResolvedValue(ok({ group: '!local1:b.test' as GroupId, name: 'Here', description: '', members: 1 }));
    mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(preview).toHaveBeenCalledWith('abc123');
  });

  it('says the link of that node is dead, naming the node', async () => {
    const { chats, router } = await at('/join/abc123?node=a.test');
    vi.spyOn(chats.client, 'previewLink').mockResolvedValue(err({ code: 'not_found', message: 'no such link' }));
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(w.get('[data-testid=join-error]').text()).toBe('This invite link of a.test is invalid, expired, used up or revoked.');
    expect(w.find('.loading').exists()).toBe(false);
  });

  it('says the node cannot be reached, for the preview and for the join', async () => {
    const { chats, router } = await at('/join/abc123?node=a.test');
    const preview = vi.spyOn(chats.client, 'previewLink').mockResolvedValue(err({ code: 'unavailable', message: 'node a.test cannot be reached' }));
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(w.get('[data-testid=join-error]').text()).toBe('a.test cannot be reached right now. Try again later.');

    preview.mockResolvedValue(ok({ group: RG, name: 'Far crabs', description: '', members: 2 }));
    vi.spyOn(chats.client, 'redeemLink').mockResolvedValue(err({ code: 'unavailable', message: 'node a.test cannot be reached' }));
    const w2 = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    await w2.get('[data-testid=join-submit]').trigger('click');
    await flushPromises();
    expect(w2.get('[data-testid=join-error]').text()).toBe('a.test cannot be reached right now. Try again later.');
    expect(w2.find('[data-testid=join-submit] .loading').exists()).toBe(false);
  });

  it('refuses a node that is no node name, without asking', async () => {
    const { chats, router } = await at('/join/abc123?node=Not%20a%20node');
    const preview = vi.spyOn(chats.client, 'previewLink');
    const w = mount(JoinLinkView, { global: { plugins: [router] } });
    await flushPromises();
    expect(preview).not.toHaveBeenCalled();
    expect(w.get('[data-testid=join-error]').text()).toBe('This invite link names no valid node.');
  });
});
