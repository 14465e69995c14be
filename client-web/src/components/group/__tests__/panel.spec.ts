import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';

import { AuthClient, EVERYONE_RANK, Gateway, Permissions, type ChatDetail, type ChatSummary, type GroupId, type PermissionName, type Role, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore, type ChatEntry } from '@/stores/chats';
import { usePresenceStore } from '@/stores/presence';
import { useSessionStore } from '@/stores/session';

import GroupInvitesTab from '../GroupInvitesTab.vue';
import GroupMembersTab from '../GroupMembersTab.vue';
import GroupPanel from '../GroupPanel.vue';
import GroupRolesTab from '../GroupRolesTab.vue';

const G = '!abcdef1:node.test' as GroupId;
const OWNER = '@owner:node.test' as UserId;
const MOD = '@mod:node.test' as UserId;
const PINNER = '@pinner:node.test' as UserId;
const PLAIN = '@plain:node.test' as UserId;

const P = (...names: PermissionName[]) => Permissions.fromNames(names);
const ROLES: Role[] = [
  { id: 1, name: 'mod', colour: '#ff0000', permissions: P('kick_members', 'ban_members', 'assign_roles', 'manage_roles', 'pin_messages'), rank: 1 },
  { id: 2, name: 'pinner', colour: '', permissions: P('pin_messages'), rank: 2 },
  { id: 3, name: 'auditor', colour: '#00ff00', permissions: P('view_audit_log'), rank: 3 },
  { id: 0, name: 'everyone', colour: '', permissions: Permissions.EVERYONE_DEFAULT, rank: EVERYONE_RANK },
];

function summary(me: UserId, myRank: number, myPermissions: number): ChatSummary {
  return {
    group: G,
    kind: 'group',
    name: 'Rustaceans',
    description: 'Crabs',
    visibility: 'private',
    owner: OWNER,
    members: 4,
    lastSeq: 10,
    readSeq: 10,
    unread: 0,
    myRank,
    myPermissions,
    pinned: [],
  };
}

function detail(s: ChatSummary): ChatDetail {
  const member = (user: UserId, name: string, roles: number[], rank: number) => ({ user, displayName: name, roles, rank, joinedAt: 1, readSeq: 0 });
  return {
    chat: s,
    members: [member(OWNER, 'Olivia', [], 0), member(MOD, 'Moe', [1], 1), member(PINNER, 'Pia', [2], 2), member(PLAIN, 'Paul', [], EVERYONE_RANK)],
    roles: ROLES,
    invited: [],
  };
}

function setup(me: UserId, myRank: number, myPermissions: number) {
  const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
  provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://node.test/ws' }) });
  setActivePinia(createPinia());
  useSessionStore().userId = me;
  const chats = useChatsStore();
  const s = summary(me, myRank, myPermissions);
  const entry: ChatEntry = { summary: s, left: null, detail: detail(s), items: [], moreBefore: false, moreAfter: false, loaded: true, loading: false, typing: {}, reads: {} };
  chats.entries[G] = entry;
  const ok = { ok: true as const, value: { group: G, seq: 11, id: '$x' as never } };
  const calls = {
    kick: vi.spyOn(chats.client, 'kick').mockResolvedValue(ok),
    updateRole: vi.spyOn(chats.client, 'updateRole').mockResolvedValue(ok),
    setRoles: vi.spyOn(chats.client, 'setRoles').mockResolvedValue(ok),
    refresh: vi.spyOn(chats, 'refreshDetail').mockImplementation(() => Promise.resolve({ ok: true as const, value: chats.entries[G]?.detail as ChatDetail })),
  };
  return { chats, calls };
}

/** Gives the caller new rank/permissions, as the store does after an admin event. */
function becomes(chats: ReturnType<typeof useChatsStore>, myRank: number, myPermissions: number): void {
  const e = chats.entries[G] as ChatEntry;
  const s = { ...e.summary, myRank, myPermissions };
  e.summary = s;
  e.detail = { ...(e.detail as ChatDetail), chat: s };
}

const router = () => createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div />' } }] });

function rowOf(wrapper: ReturnType<typeof mount>, user: string) {
  return wrapper.get(`[data-testid=member-row][data-user="${user}"]`);
}

describe('members tab', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => provideSdk(null));

  it('offers the member menu only on more junior members, with only the allowed actions', async () => {
    const { calls } = setup(MOD, 1, ROLES[0]!.permissions | Permissions.EVERYONE_DEFAULT);
    const w = mount(GroupMembersTab, { props: { group: G }, global: { plugins: [router()] } });
    expect(rowOf(w, OWNER).find('[data-testid=member-menu]').exists()).toBe(false);
    expect(rowOf(w, MOD).find('[data-testid=member-menu]').exists()).toBe(false);
    const pinner = rowOf(w, PINNER);
    expect(pinner.find('[data-testid=member-menu]').exists()).toBe(true);
    expect(pinner.find('[data-testid=member-kick]').exists()).toBe(true);
    expect(pinner.find('[data-testid=member-ban]').exists()).toBe(true);
    expect(pinner.find('[data-testid=member-roles]').exists()).toBe(true);
    expect(pinner.find('[data-testid=member-transfer]').exists()).toBe(false);
    // Role badges in rank order, with the owner badge.
    expect(rowOf(w, OWNER).find('[data-testid=owner-badge]').exists()).toBe(true);
    expect(rowOf(w, MOD).text()).toContain('mod');

    await pinner.get('[data-testid=member-kick]').trigger('click');
    await w.get('[data-testid=reason-input]').setValue('  spam  ');
    await w.get('[data-testid=kick-dialog]').trigger('submit');
    await flushPromises();
    expect(calls.kick).toHaveBeenCalledWith(G, PINNER, 'spam');
    expect(w.find('[data-testid=kick-dialog]').exists()).toBe(false);
  });

  it('assign-roles checkboxes show only roles below my rank and keep the others', async () => {
    const { calls } = setup(MOD, 1, ROLES[0]!.permissions | Permissions.EVERYONE_DEFAULT);
    const w = mount(GroupMembersTab, { props: { group: G }, global: { plugins: [router()] } });
    await rowOf(w, PLAIN).get('[data-testid=member-roles]').trigger('click');
    const boxes = w.findAll('[data-testid=role-checkbox]');
    expect(boxes.map((b) => b.attributes('data-role'))).toEqual(['pinner', 'auditor']);
    // auditor grants view_audit_log, which the moderator lacks.
    expect(boxes[1]!.attributes('disabled')).toBeDefined();
    await boxes[0]!.setValue(true);
    await w.get('[data-testid=roles-dialog]').trigger('submit');
    await flushPromises();
    expect(calls.setRoles).toHaveBeenCalledWith(G, PLAIN, [2]);
  });

  it('shows actions live when my permissions change', async () => {
    const { chats } = setup(PINNER, 2, ROLES[1]!.permissions | Permissions.EVERYONE_DEFAULT);
    const w = mount(GroupMembersTab, { props: { group: G }, global: { plugins: [router()] } });
    expect(w.find('[data-testid=member-menu]').exists()).toBe(false);
    becomes(chats, 2, P('kick_members'));
    await flushPromises();
    expect(rowOf(w, PLAIN).find('[data-testid=member-kick]').exists()).toBe(true);
    expect(rowOf(w, MOD).find('[data-testid=member-menu]').exists()).toBe(false);
  });

  it('puts a live online dot on the avatars of online members', async () => {
    setup(OWNER, 0, Permissions.ALL);
    const presence = usePresenceStore();
    presence.apply({ user: MOD, status: 'online' });
    const w = mount(GroupMembersTab, { props: { group: G }, global: { plugins: [router()] } });
    const online = (user: string) => rowOf(w, user).get('[data-testid=member-avatar]').attributes('data-online') === 'true';
    expect(online(MOD)).toBe(true);
    expect(rowOf(w, MOD).get('[data-testid=member-avatar]').classes()).toContain('avatar-online');
    expect(rowOf(w, MOD).text()).toContain('(online)');
    expect(online(PINNER)).toBe(false);
    presence.apply({ user: PINNER, status: 'online' });
    presence.apply({ user: MOD, status: 'offline', lastSeen: 5 });
    await flushPromises();
    expect(online(PINNER)).toBe(true);
    expect(online(MOD)).toBe(false);
  });

  it('gives the owner transfer and every action', () => {
    setup(OWNER, 0, Permissions.ALL);
    const w = mount(GroupMembersTab, { props: { group: G }, global: { plugins: [router()] } });
    const mod = rowOf(w, MOD);
    for (const id of ['member-roles', 'member-kick', 'member-ban', 'member-transfer']) expect(mod.find(`[data-testid=${id}]`).exists()).toBe(true);
  });
});

describe('roles tab', () => {
  afterEach(() => provideSdk(null));

  it('reorders only roles below me, with the up/down buttons', async () => {
    const { calls } = setup(MOD, 1, ROLES[0]!.permissions | Permissions.EVERYONE_DEFAULT);
    const w = mount(GroupRolesTab, { props: { group: G }, global: { plugins: [router()] } });
    const rows = w.findAll('[data-testid=role-row]');
    expect(rows.map((r) => r.attributes('data-role'))).toEqual(['mod', 'pinner', 'auditor', 'everyone']);
    expect(rows[0]!.find('[data-testid=role-up]').exists()).toBe(false);
    expect(rows[0]!.find('[data-testid=role-edit]').exists()).toBe(false);
    expect(rows[0]!.attributes('draggable')).toBe('false');
    expect(rows[1]!.get('[data-testid=role-up]').attributes('disabled')).toBeDefined(); // would reach my rank
    expect(rows[1]!.attributes('draggable')).toBe('true');
    expect(rows[3]!.find('[data-testid=role-delete]').exists()).toBe(false); // everyone
    await rows[2]!.get('[data-testid=role-up]').trigger('click');
    await flushPromises();
    expect(calls.updateRole).toHaveBeenCalledWith(G, 3, { rank: 2 });
  });

  it('drag and drop moves a role onto another rank', async () => {
    const { calls } = setup(OWNER, 0, Permissions.ALL);
    const w = mount(GroupRolesTab, { props: { group: G }, global: { plugins: [router()] } });
    const rows = w.findAll('[data-testid=role-row]');
    const dataTransfer = { setData: vi.fn(), effectAllowed: '', dropEffect: '' };
    await rows[2]!.trigger('dragstart', { dataTransfer });
    await rows[0]!.trigger('dragover', { dataTransfer });
    await rows[0]!.trigger('drop', { dataTransfer });
    await flushPromises();
    expect(calls.updateRole).toHaveBeenCalledWith(G, 3, { rank: 1 });
  });

  it('the editor enables only the flags I hold', async () => {
    setup(MOD, 1, ROLES[0]!.permissions | Permissions.EVERYONE_DEFAULT);
    const w = mount(GroupRolesTab, { props: { group: G }, global: { plugins: [router()] } });
    await w.get('[data-testid=role-create]').trigger('click');
    expect(w.get('[data-testid=perm-pin_messages]').attributes('disabled')).toBeUndefined();
    expect(w.get('[data-testid=perm-kick_members]').attributes('disabled')).toBeUndefined();
    expect(w.get('[data-testid=perm-view_audit_log]').attributes('disabled')).toBeDefined();
    expect(w.get('[data-testid=perm-edit_group_info]').attributes('disabled')).toBeDefined();
  });
});

describe('panel', () => {
  afterEach(() => provideSdk(null));

  it('shows the tabs my permissions allow, and a notice once I am removed', async () => {
    const { chats } = setup(PLAIN, EVERYONE_RANK, P('send_messages'));
    const w = mount(GroupPanel, { props: { group: G, tab: 'bans' }, global: { plugins: [router()] } });
    await flushPromises();
    const tabs = w.findAll('[role=tab]').map((t) => t.attributes('data-testid'));
    expect(tabs).toEqual(['group-tab-info', 'group-tab-members', 'group-tab-roles']);
    expect(w.get('[data-testid=group-panel]').attributes('data-tab')).toBe('info'); // bans not allowed
    becomes(chats, 1, P('ban_members', 'view_audit_log'));
    await flushPromises();
    expect(w.findAll('[role=tab]').map((t) => t.attributes('data-testid'))).toContain('group-tab-bans');
    (chats.entries[G] as ChatEntry).left = 'kicked';
    await flushPromises();
    expect(w.get('[data-testid=group-panel-left]').text()).toContain('removed');
  });
});

describe('invites tab', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => provideSdk(null));

  it('says when the pending invites were cut to fit the reply', async () => {
    const { chats } = setup(OWNER, 0, Permissions.ALL);
    vi.spyOn(chats.client, 'listLinks').mockResolvedValue({ ok: true, value: [] });
    const e = chats.entries[G] as ChatEntry;
    e.detail = { ...(e.detail as ChatDetail), invited: [PLAIN] };
    const w = mount(GroupInvitesTab, { props: { group: G }, global: { plugins: [router()] } });
    await flushPromises();
    expect(w.findAll('[data-testid=pending-invite]')).toHaveLength(1);
    expect(w.find('[data-testid=more-pending-invites]').exists()).toBe(false);

    e.detail = { ...(e.detail as ChatDetail), moreInvited: true };
    await flushPromises();
    expect(w.get('[data-testid=more-pending-invites]').text()).toContain('only the first 1 are shown');
  });
});

describe('nodes in the panel', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => provideSdk(null));

  it('says where a local group is hosted, without a node badge', async () => {
    setup(OWNER, 0, Permissions.ALL);
    const w = mount(GroupPanel, { props: { group: G, tab: 'info' }, global: { plugins: [router()] } });
    await flushPromises();
    expect(w.get('[data-testid=group-home-node]').text()).toBe('Hosted on node.test');
    expect(w.find('[data-testid=node-badge]').exists()).toBe(false);
  });

  it('badges a member of another node and shows their whole @name:node', async () => {
    const { chats } = setup(OWNER, 0, Permissions.ALL);
    const far = '@far:other.test' as UserId;
    const e = chats.entries[G] as ChatEntry;
    const d = e.detail as ChatDetail;
    e.detail = { ...d, members: [...d.members, { user: far, displayName: 'Faraway', roles: [], rank: EVERYONE_RANK, joinedAt: 2, readSeq: 0 }] };
    const w = mount(GroupMembersTab, { props: { group: G }, global: { plugins: [router()] } });
    await flushPromises();
    const row = rowOf(w, far);
    expect(row.get('[data-testid=member-name]').text()).toBe('Faraway');
    expect(row.get('[data-testid=member-id]').text()).toBe(far);
    expect(row.get('[data-testid=node-badge]').text()).toBe('other.test');
    expect(rowOf(w, PLAIN).find('[data-testid=node-badge]').exists()).toBe(false);
    expect(rowOf(w, PLAIN).get('[data-testid=member-id]').text()).toBe(PLAIN);
  });
});

describe('nodes in the panel of a remote group', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => provideSdk(null));

  it('says which node hosts it and badges it', async () => {
    const { chats } = setup(OWNER, 0, Permissions.ALL);
    const remote = '!zyxwvu9:home.test' as GroupId;
    const e = chats.entries[G] as ChatEntry;
    const s = { ...e.summary, group: remote };
    chats.entries[remote] = { ...e, summary: s, detail: { ...(e.detail as ChatDetail), chat: s } };
    vi.spyOn(chats, 'refreshDetail').mockImplementation(() => Promise.resolve({ ok: true as const, value: chats.entries[remote]?.detail as ChatDetail }));
    const w = mount(GroupPanel, { props: { group: remote, tab: 'info' }, global: { plugins: [router()] } });
    await flushPromises();
    expect(w.get('[data-testid=group-home-node]').text()).toBe('Hosted on home.test');
    expect(w.get('header [data-testid=node-badge]').text()).toBe('home.test');
  });
});
