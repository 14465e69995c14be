import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, EVERYONE_RANK, Gateway, Permissions, type ChatDetail, type ChatSummary, type GroupId, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore, type ChatEntry } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import GroupInfoTab from '../GroupInfoTab.vue';

const G = '!abcdef1:node.test' as GroupId;
const OWNER = '@owner:node.test' as UserId;
const ME = '@me:node.test' as UserId;

function setup(me: UserId, myPermissions: number) {
  const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
  provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://node.test/ws' }) });
  setActivePinia(createPinia());
  useSessionStore().userId = me;
  const chats = useChatsStore();
  const chat: ChatSummary = {
    group: G, kind: 'group', name: 'Crabs', description: 'Sideways', visibility: 'private', owner: OWNER, members: 2,
    lastSeq: 3, readSeq: 3, unread: 0, myRank: me === OWNER ? 0 : EVERYONE_RANK, myPermissions, pinned: [],
  };
  const detail: ChatDetail = {
    chat,
    members: [
      { user: OWNER, displayName: 'Olivia', roles: [], rank: 0, joinedAt: 1, readSeq: 0 },
      { user: ME, displayName: 'Me', roles: [], rank: EVERYONE_RANK, joinedAt: 2, readSeq: 0 },
    ],
    roles: [{ id: 0, name: 'everyone', colour: '', permissions: Permissions.EVERYONE_DEFAULT, rank: EVERYONE_RANK }],
    invited: [],
  };
  const entry: ChatEntry = { summary: chat, left: null, detail, items: [], moreBefore: false, moreAfter: false, loaded: true, loading: false, typing: {}, reads: {} };
  chats.entries[G] = entry;
  const ok = { ok: true as const, value: { group: G, seq: 4, id: '$x' as never } };
  const update = vi.spyOn(chats.client, 'updateGroup').mockResolvedValue(ok);
  vi.spyOn(chats, 'refreshDetail').mockResolvedValue({ ok: true, value: detail });
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div />' } }] });
  return { update, router };
}

describe('info tab', () => {
  afterEach(() => provideSdk(null));

  it('the owner edits, changes the type and has transfer and delete, but no leave', async () => {
    const { update, router } = setup(OWNER, Permissions.ALL);
    const w = mount(GroupInfoTab, { props: { group: G }, global: { plugins: [router] } });
    expect(w.find('[data-testid=group-type-form]').exists()).toBe(true);
    expect(w.find('[data-testid=group-transfer]').exists()).toBe(true);
    expect(w.find('[data-testid=group-delete]').exists()).toBe(true);
    expect(w.find('[data-testid=group-leave]').exists()).toBe(false);

    await w.get('[data-testid=group-description-input]').setValue('Crabs only');
    await w.get('[data-testid=group-info-form]').trigger('submit');
    await flushPromises();
    expect(update).toHaveBeenCalledWith(G, { description: 'Crabs only' });

    await w.get('[data-testid=group-type-public]').setValue(true);
    await w.get('[data-testid=group-handle-input]').setValue('1bad');
    expect(w.get('[data-testid=group-type-save]').attributes('disabled')).toBeDefined();
    await w.get('[data-testid=group-handle-input]').setValue('crabs');
    await w.get('[data-testid=group-type-form]').trigger('submit');
    await flushPromises();
    expect(update).toHaveBeenLastCalledWith(G, { visibility: 'public', handle: 'crabs' });
  });

  it('deleting needs the group name typed', async () => {
    const { router } = setup(OWNER, Permissions.ALL);
    const w = mount(GroupInfoTab, { props: { group: G }, global: { plugins: [router] } });
    await w.get('[data-testid=group-delete]').trigger('click');
    expect(w.get('[data-testid=dialog-confirm]').attributes('disabled')).toBeDefined();
    await w.get('[data-testid=delete-confirm-input]').setValue('Crabs');
    expect(w.get('[data-testid=dialog-confirm]').attributes('disabled')).toBeUndefined();
  });

  it('a plain member reads the info and may leave', () => {
    const { router } = setup(ME, Permissions.EVERYONE_DEFAULT);
    const w = mount(GroupInfoTab, { props: { group: G }, global: { plugins: [router] } });
    expect(w.get('[data-testid=group-name-input]').attributes('readonly')).toBeDefined();
    expect(w.find('[data-testid=group-info-save]').exists()).toBe(false);
    expect(w.find('[data-testid=group-type-form]').exists()).toBe(false);
    expect(w.find('[data-testid=group-delete]').exists()).toBe(false);
    expect(w.find('[data-testid=group-leave]').exists()).toBe(true);
  });

  it('edit_group_info alone allows editing name and description, not the type', () => {
    const { router } = setup(ME, Permissions.fromNames(['edit_group_info']));
    const w = mount(GroupInfoTab, { props: { group: G }, global: { plugins: [router] } });
    expect(w.get('[data-testid=group-name-input]').attributes('readonly')).toBeUndefined();
    expect(w.find('[data-testid=group-info-save]').exists()).toBe(true);
    expect(w.find('[data-testid=group-type-form]').exists()).toBe(false);
  });
});
