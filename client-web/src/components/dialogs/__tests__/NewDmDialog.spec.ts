import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, err, ok, Permissions, type CborMap, type ChatSummary, type Gateway, type GroupId, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import NewDmDialog from '../NewDmDialog.vue';

const ME = '@ana:a.test' as UserId;
const BOB = '@bob:b.test' as UserId;
const G = '!abcdef1:a.test' as GroupId;

const summary: ChatSummary = {
  group: G, kind: 'direct', name: '', description: '', visibility: 'private', owner: ME, members: 2, peer: BOB,
  lastSeq: 1, readSeq: 1, unread: 0, myRank: 0, myPermissions: Permissions.ALL, pinned: [],
};

async function setup() {
  const sent: { method: string; params: CborMap }[] = [];
  const gw = {
    state: 'connected',
    on: () => () => {},
    request(method: string, params: CborMap) {
      sent.push({ method, params });
      if (method !== 'users.search') return Promise.resolve(err({ code: 'not_found', message: 'no' }));
      const query = String(params.query);
      if (query === '@down:c.test') return Promise.resolve(err({ code: 'unavailable', message: 'node c.test cannot be reached right now' }));
      // Another node's user is asked of their node by the whole id; others by name here.
      if (query.includes(':')) return Promise.resolve(ok({ users: query === BOB ? [{ id: BOB, display_name: 'Far Bob', bio: '' }] : [] }));
      return Promise.resolve(ok({ users: [{ id: '@bob:a.test', display_name: 'Local Bob', bio: '' }] }));
    },
  };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  setActivePinia(createPinia());
  useSessionStore().userId = ME;
  const chats = useChatsStore();
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', component: { template: '<div />' } },
      { path: '/chat/:group', name: 'chat', component: { template: '<div />' } },
    ],
  });
  await router.push('/');
  await router.isReady();
  const w = mount(NewDmDialog, { global: { plugins: [router] }, attachTo: document.body });
  return { w, chats, router, sent };
}

async function type(w: Awaited<ReturnType<typeof setup>>['w'], text: string): Promise<void> {
  await w.get('[data-testid=user-search]').setValue(text);
  await new Promise((r) => setTimeout(r, 250));
  await flushPromises();
}

describe('new direct message dialog', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('opens a direct chat with a whole @name:node of another node, looked up on that node', async () => {
    const { w, chats, router, sent } = await setup();
    const open = vi.spyOn(chats.client, 'openDm').mockResolvedValue(ok(summary));
    await type(w, '@bob:b.test');
    expect(sent.filter((s) => s.method === 'users.search').map((s) => s.params)).toEqual([{ query: BOB, limit: 1 }]);
    const button = w.get('[data-testid=user-remote]');
    expect(button.attributes('data-user')).toBe(BOB);
    expect(button.get('[data-testid=user-remote-name]').text()).toBe('Far Bob');
    expect(button.text()).toContain(BOB);
    expect(button.get('[data-testid=node-badge]').text()).toBe('b.test');
    expect(w.findAll('[data-testid=user-result]')).toHaveLength(0);
    await button.trigger('click');
    await flushPromises();
    expect(open).toHaveBeenCalledWith(BOB);
    expect(chats.entry(G)?.summary.peer).toBe(BOB);
    expect(chats.names[BOB]).toBe('Far Bob');
    expect(router.currentRoute.value.params.group).toBe(G);
  });

  it('says at once when the lookup cannot reach the node, and still offers the chat', async () => {
    const { w, chats } = await setup();
    const open = vi.spyOn(chats.client, 'openDm').mockResolvedValue(ok(summary));
    await type(w, '@down:c.test');
    expect(w.get('[data-testid=new-dm-error]').text()).toBe('c.test cannot be reached right now. Try again later.');
    expect(w.find('[aria-label=Searching]').exists()).toBe(false);
    expect(w.get('[data-testid=user-remote-name]').text()).toBe('Message @down:c.test');
    await w.get('[data-testid=user-remote]').trigger('click');
    await flushPromises();
    expect(open).toHaveBeenCalledWith('@down:c.test');
  });

  it('says the node cannot be reached, and stops waiting', async () => {
    const { w, chats } = await setup();
    vi.spyOn(chats.client, 'openDm').mockResolvedValue(err({ code: 'unavailable', message: 'node b.test cannot be reached right now' }));
    await type(w, 'bob:b.test');
    await w.get('[data-testid=user-remote]').trigger('click');
    await flushPromises();
    expect(w.get('[data-testid=new-dm-error]').text()).toBe('b.test cannot be reached right now. Try again later.');
    expect(w.find('[aria-label=Opening]').exists()).toBe(false);
    expect(w.get('[data-testid=user-remote]').attributes('disabled')).toBeUndefined();
  });

  it('says the user does not exist there', async () => {
    const { w, chats } = await setup();
    vi.spyOn(chats.client, 'openDm').mockResolvedValue(err({ code: 'not_found', message: 'no such user' }));
    await type(w, '@nobody:b.test');
    // The lookup found nobody: said before any click.
    expect(w.get('[data-testid=new-dm-error]').text()).toBe('@nobody:b.test does not exist on b.test.');
    await w.get('[data-testid=user-remote]').trigger('click');
    await flushPromises();
    expect(w.get('[data-testid=new-dm-error]').text()).toBe('@nobody:b.test does not exist on b.test.');
  });

  it('gives up on an answer that never comes', async () => {
    const { w, chats } = await setup();
    vi.spyOn(chats.client, 'openDm').mockReturnValue(new Promise(() => {}));
    await type(w, '@bob:b.test');
    vi.useFakeTimers();
    try {
      await w.get('[data-testid=user-remote]').trigger('click');
      expect(w.find('[aria-label=Opening]').exists()).toBe(true);
      await vi.advanceTimersByTimeAsync(20_000);
      await flushPromises();
      expect(w.find('[aria-label=Opening]').exists()).toBe(false);
      expect(w.get('[data-testid=new-dm-error]').text()).toBe('b.test cannot be reached right now. Try again later.');
    } finally {
      vi.useRealTimers();
    }
  });

  it('searches by name for anything else, badging no local user', async () => {
    const { w, sent } = await setup();
    await type(w, '@bob:a.test');
    expect(w.find('[data-testid=user-remote]').exists()).toBe(false);
    expect(sent.filter((s) => s.method === 'users.search').map((s) => s.params.query)).toEqual(['bob']);
    expect(w.findAll('[data-testid=user-result]')).toHaveLength(1);
    expect(w.find('[data-testid=node-badge]').exists()).toBe(false);
  });
});

describe('new direct message dialog, typing again', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('forgets the last failure once another id is typed', async () => {
    const { w, chats } = await setup();
    vi.spyOn(chats.client, 'openDm').mockResolvedValue(err({ code: 'not_found', message: 'no such user' }));
    await type(w, '@nobody:b.test');
    await w.get('[data-testid=user-remote]').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid=new-dm-error]').exists()).toBe(true);
    await type(w, '@bob:b.test');
    expect(w.find('[data-testid=new-dm-error]').exists()).toBe(false);
    expect(w.get('[data-testid=user-remote]').attributes('data-user')).toBe(BOB);
  });
});
