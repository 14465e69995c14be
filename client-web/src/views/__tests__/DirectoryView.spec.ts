import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, err, Gateway, ok, type DirectoryEntry, type GroupId, type Handle } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import DirectoryView from '../DirectoryView.vue';

const REMOTE: DirectoryEntry = { group: '!abcdef1:b.test' as GroupId, handle: '#crabs:b.test' as Handle, name: 'Crabs', description: '', members: 1, joined: false };
const LOCAL: DirectoryEntry = { group: '!abcdef2:a.test' as GroupId, handle: '#home:a.test' as Handle, name: 'Home', description: '', members: 3, joined: false };

async function setup() {
  const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
  provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://a.test/ws' }) });
  setActivePinia(createPinia());
  useSessionStore().userId = '@ana:a.test';
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
  return { chats, router };
}

async function search(w: ReturnType<typeof mount>, text: string): Promise<void> {
  await w.get('[data-testid=directory-search]').setValue(text);
  await new Promise((r) => setTimeout(r, 300));
  await flushPromises();
}

describe('directory', () => {
  afterEach(() => provideSdk(null));

  it('says which node cannot be reached when a #handle:node lookup fails, not "no group"', async () => {
    const { chats, router } = await setup();
    const directory = vi.spyOn(chats.client, 'directory').mockResolvedValue(ok([]));
    const w = mount(DirectoryView, { global: { plugins: [router] } });
    await flushPromises();
    directory.mockResolvedValue(err({ code: 'unavailable', message: 'node b.test cannot be reached right now' }));
    await search(w, '#crabs:b.test');
    expect(directory).toHaveBeenLastCalledWith('#crabs:b.test');
    expect(w.get('[data-testid=directory-error]').text()).toBe('b.test cannot be reached right now. Try again later.');
    expect(w.text()).not.toContain('No public group found');
    expect(w.find('[aria-label=Searching]').exists()).toBe(false);

    directory.mockResolvedValue(err({ code: 'not_found', message: 'no such handle' }));
    await search(w, '#crabz:b.test');
    expect(w.get('[data-testid=directory-error]').text()).toBe('#crabz:b.test does not exist on b.test.');
  });

  it('badges a group of another node and says why joining it failed', async () => {
    const { chats, router } = await setup();
    vi.spyOn(chats.client, 'directory').mockResolvedValue(ok([REMOTE, LOCAL]));
    const join = vi.spyOn(chats.client, 'join').mockResolvedValue(err({ code: 'unavailable', message: 'node b.test cannot be reached right now' }));
    const w = mount(DirectoryView, { global: { plugins: [router] } });
    await flushPromises();
    const [remote, local] = w.findAll('[data-testid=directory-entry]');
    expect(remote?.get('[data-testid=node-badge]').text()).toBe('b.test');
    expect(local?.find('[data-testid=node-badge]').exists()).toBe(false);

    await remote?.get('[data-testid=directory-join]').trigger('click');
    await flushPromises();
    expect(join).toHaveBeenCalledWith({ group: REMOTE.group });
    expect(remote?.get('[data-testid=directory-join-error]').text()).toBe('b.test cannot be reached right now. Try again later.');
    expect(remote?.get('[data-testid=directory-join]').attributes('disabled')).toBeUndefined();

    join.mockResolvedValue(err({ code: 'forbidden', message: 'you are banned from this group' }));
    await remote?.get('[data-testid=directory-join]').trigger('click');
    await flushPromises();
    expect(remote?.get('[data-testid=directory-join-error]').text()).toBe('b.test refused: you are banned from this group.');

    join.mockResolvedValue(err({ code: 'forbidden', message: 'you are banned from this group' }));
    await local?.get('[data-testid=directory-join]').trigger('click');
    await flushPromises();
    expect(local?.get('[data-testid=directory-join-error]').text()).toBe('You cannot join this group. You may have been banned from it.');
    expect(local?.get('[data-testid=directory-join]').attributes('disabled')).toBeDefined();
    expect(w.find('[data-testid=directory-error]').exists()).toBe(false);
  });
});

describe('a refused join', () => {
  afterEach(() => provideSdk(null));

  it('stays shown on its row when the search answers after the click', async () => {
    const { chats, router } = await setup();
    // The search's answer is held back until after Join was refused.
    let answer: (value: Awaited<ReturnType<typeof chats.client.directory>>) => void = () => {};
    const directory = vi.spyOn(chats.client, 'directory').mockResolvedValueOnce(ok([LOCAL]));
    vi.spyOn(chats.client, 'join').mockResolvedValue(err({ code: 'forbidden', message: 'you are banned from this group' }));
    const w = mount(DirectoryView, { global: { plugins: [router] } });
    await flushPromises();
    directory.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    await w.get('[data-testid=directory-search]').setValue('ho');
    await new Promise((r) => setTimeout(r, 300));
    await w.get('[data-testid=directory-join]').trigger('click');
    await flushPromises();
    answer(ok([LOCAL]));
    await flushPromises();
    const row = w.get('[data-testid=directory-entry]');
    expect(row.get('[data-testid=directory-join-error]').text()).toBe('You cannot join this group. You may have been banned from it.');
    expect(row.get('[data-testid=directory-join]').attributes('disabled')).toBeDefined();
  });
});

describe('join with a link or #handle:node', () => {
  afterEach(() => provideSdk(null));

  async function withJoinRoute() {
    const { chats, router } = await setup();
    router.addRoute({ path: '/join/:code', name: 'join', component: { template: '<div />' } });
    vi.spyOn(chats.client, 'directory').mockResolvedValue(ok([]));
    const w = mount(DirectoryView, { global: { plugins: [router] } });
    await flushPromises();
    return { w, router };
  }

  async function paste(w: ReturnType<typeof mount>, text: string): Promise<void> {
    await w.get('[data-testid=join-with-link-input]').setValue(text);
    await w.get('[data-testid=join-with-link]').trigger('submit');
    await flushPromises();
  }

  it('opens the join page of another node’s link, naming its node', async () => {
    const { w, router } = await withJoinRoute();
    await paste(w, 'https://b.test/join/Xy_z-9');
    expect(router.currentRoute.value.name).toBe('join');
    expect(router.currentRoute.value.params.code).toBe('Xy_z-9');
    expect(router.currentRoute.value.query.node).toBe('b.test');
  });

  it('opens a link of this node as an ordinary local link', async () => {
    const { w, router } = await withJoinRoute();
    await paste(w, 'http://a.test/join/abc');
    expect(router.currentRoute.value.params.code).toBe('abc');
    expect(router.currentRoute.value.query.node).toBeUndefined();
  });

  it('opens a public group by its whole #handle:node', async () => {
    const { w, router } = await withJoinRoute();
    await paste(w, '#Crabs:b.test');
    expect(router.currentRoute.value.params.code).toBe('#crabs:b.test');
  });

  it('says what it takes when the text is neither', async () => {
    const { w, router } = await withJoinRoute();
    await paste(w, 'crabs');
    expect(router.currentRoute.value.path).toBe('/');
    expect(w.get('[data-testid=join-with-link-error]').text()).toContain('Paste an invite link');
  });

  it('offers to open an invite link pasted into the search box, without searching for it', async () => {
    const { chats, router } = await setup();
    router.addRoute({ path: '/join/:code', name: 'join', component: { template: '<div />' } });
    const directory = vi.spyOn(chats.client, 'directory').mockResolvedValue(ok([]));
    const w = mount(DirectoryView, { global: { plugins: [router] } });
    await flushPromises();
    const before = directory.mock.calls.length;
    await search(w, 'https://b.test/join/abc');
    expect(directory.mock.calls.length).toBe(before);
    expect(w.get('[data-testid=directory-pasted-link]').text()).toContain('of b.test');
    expect(w.text()).not.toContain('No public group found');
    await w.get('[data-testid=directory-open-link]').trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.params.code).toBe('abc');
    expect(router.currentRoute.value.query.node).toBe('b.test');
  });
});
