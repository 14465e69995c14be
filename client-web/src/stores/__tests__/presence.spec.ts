import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, ok, Permissions, type CborMap, type CborValue, type Gateway, type GroupId, type Result, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { usePresenceStore } from '@/stores/presence';
import { useSessionStore } from '@/stores/session';

const G = '!abcdef123:node.test' as GroupId;
const ME = '@mine:node.test' as UserId;
const ANA = '@ana:node.test' as UserId;
const BO = '@bob:node.test' as UserId;
const CY = '@cyd:node.test' as UserId;

type Reply = Result<CborValue, { code: string; message: string }>;

/** A gateway stand-in: records requests, answers from per-method handlers (maybe later), emits events. */
class FakeGateway {
  state = 'connected';
  readonly sent: { method: string; params: CborMap }[] = [];
  readonly answers: Record<string, (params: CborMap) => Reply | Promise<Reply>> = {};
  readonly handlers: Record<string, ((v: unknown) => void)[]> = {};

  request(method: string, params: CborMap = {}): Promise<Reply> {
    this.sent.push({ method, params });
    const a = this.answers[method];
    return Promise.resolve(a ? a(params) : ok({}));
  }

  on(event: string, handler: (v: unknown) => void): () => void {
    (this.handlers[event] ??= []).push(handler);
    return () => {};
  }

  emit(event: string, v: unknown): void {
    for (const h of this.handlers[event] ?? []) h(v);
  }

  start(): void {}
  stop(): void {}

  asked(): string[][] {
    return this.sent.filter((s) => s.method === 'presence.get').map((s) => s.params.users as string[]);
  }
}

function summary(group: string, extra: CborMap = {}): CborMap {
  return {
    group,
    kind: 'group',
    name: 'Rust',
    description: '',
    visibility: 'private',
    owner: ME,
    members: 3,
    last_seq: 1,
    read_seq: 1,
    unread: 0,
    my_rank: 0,
    my_permissions: Permissions.ALL,
    pinned: [],
    ...extra,
  };
}

let dmCount = 0;
function dm(peer: string): CborMap {
  dmCount += 1;
  const local = `dm${String(dmCount).padStart(6, '0')}`;
  return summary(`!${local}:node.test`, { kind: 'direct', name: '', peer, members: 2, my_rank: 0xffffffff, my_permissions: Permissions.DIRECT });
}

/** Answers presence.get from `table` (users not in it are left out, as the node does). */
function fromTable(table: Record<string, CborMap>) {
  return (params: CborMap): Reply => ok({ presence: (params.users as string[]).filter((u) => u in table).map((u) => ({ user: u, ...table[u] })) });
}

let gw: FakeGateway;
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function setup(chats: CborMap[], table: Record<string, CborMap> = {}) {
  gw = new FakeGateway();
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  setActivePinia(createPinia());
  useSessionStore().userId = ME;
  gw.answers['chats.list'] = () => ok({ chats });
  gw.answers['invites.list'] = () => ok({ invites: [] });
  gw.answers['presence.get'] = fromTable(table);
  const chatsStore = useChatsStore();
  const presence = usePresenceStore();
  await chatsStore.ensureLoaded();
  await flush();
  return { chats: chatsStore, presence };
}

describe('presence store', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => provideSdk(null));

  it('asks about DM peers once the chat list loads', async () => {
    const { presence } = await setup([summary(G), dm(ANA), dm(BO)], { [ANA]: { status: 'online' }, [BO]: { status: 'offline', last_seen: 5 } });
    expect(gw.asked()).toEqual([[ANA, BO]]);
    expect(presence.of(ANA)).toEqual({ status: 'online' });
    expect(presence.of(BO)).toEqual({ status: 'offline', lastSeen: 5 });
    expect(presence.isOnline(ANA)).toBe(true);
    expect(presence.isOnline(BO)).toBe(false);
    expect(presence.of(CY)).toBeUndefined();
  });

  it('asks in batches of at most 100 users', async () => {
    const peers = Array.from({ length: 230 }, (_, i) => `@peer${i}:node.test`);
    const { presence } = await setup(
      peers.map((p) => dm(p)),
      Object.fromEntries(peers.map((p) => [p, { status: 'online' }])),
    );
    const asked = gw.asked();
    expect(asked.map((a) => a.length)).toEqual([100, 100, 30]);
    expect(new Set(asked.flat())).toEqual(new Set(peers));
    expect(peers.every((p) => presence.isOnline(p))).toBe(true);
  });

  it('applies pushes live; an online push keeps the last seen time', async () => {
    const { presence } = await setup([dm(ANA)], { [ANA]: { status: 'offline', last_seen: 10 } });
    gw.emit('presence', { user: ANA, status: 'online' });
    expect(presence.of(ANA)).toEqual({ status: 'online', lastSeen: 10 });
    gw.emit('presence', { user: ANA, status: 'offline', lastSeen: 20 });
    expect(presence.of(ANA)).toEqual({ status: 'offline', lastSeen: 20 });
    // A push about someone not asked about yet is kept (and they are not asked about again).
    gw.emit('presence', { user: CY, status: 'online' });
    expect(presence.isOnline(CY)).toBe(true);
    await presence.ensure([CY]);
    expect(gw.asked()).toEqual([[ANA]]);
  });

  it('a push that arrives while presence.get is on its way wins over the reply', async () => {
    let answer: (r: Reply) => void = () => {};
    const { presence } = await setup([]);
    gw.answers['presence.get'] = () => new Promise<Reply>((r) => (answer = r));
    const pending = presence.refresh([ANA, BO]);
    await flush();
    gw.emit('presence', { user: ANA, status: 'offline', lastSeen: 99 });
    answer(ok({ presence: [{ user: ANA, status: 'online' }, { user: BO, status: 'online' }] }));
    await pending;
    expect(presence.of(ANA)).toEqual({ status: 'offline', lastSeen: 99 });
    expect(presence.of(BO)).toEqual({ status: 'online' });
  });

  it('forgets users the node leaves out, keeps state when a request fails', async () => {
    const { presence } = await setup([dm(ANA)], { [ANA]: { status: 'online' } });
    expect(presence.isOnline(ANA)).toBe(true);
    gw.answers['presence.get'] = () => ({ ok: false, error: { code: 'unavailable', message: 'x' } });
    await presence.refresh([ANA]);
    expect(presence.isOnline(ANA)).toBe(true);
    gw.answers['presence.get'] = fromTable({});
    await presence.refresh([ANA]);
    expect(presence.of(ANA)).toBeUndefined();
  });

  it('asks about the first 100 members of the focused group', async () => {
    const members = [ME, ...Array.from({ length: 120 }, (_, i) => `@member${i}:node.test`)];
    const { chats, presence } = await setup([summary(G, { members: members.length })], { '@member0:node.test': { status: 'online' } });
    expect(gw.asked()).toEqual([]);
    presence.focus(G);
    await flush();
    expect(gw.asked()).toEqual([]); // no detail loaded yet
    gw.answers['chats.get'] = () =>
      ok({
        chat: summary(G, { members: members.length }),
        members: members.map((user, i) => ({ user, display_name: '', roles: [], rank: i === 0 ? 0 : 0xffffffff, joined_at: 1, read_seq: 0 })),
        roles: [],
      });
    await chats.refreshDetail(G);
    await flush();
    expect(gw.asked()).toEqual([members.slice(0, 100)]);
    expect(presence.isOnline('@member0:node.test')).toBe(true);
    // Showing the members list again does not ask again (pushes keep a group this size live)…
    await presence.showMembers(G);
    expect(gw.asked()).toHaveLength(1);
  });

  it('asks again each time the members of a group over 500 members are shown', async () => {
    const { chats, presence } = await setup([summary(G, { members: 900 })]);
    gw.answers['chats.get'] = () =>
      ok({ chat: summary(G, { members: 900 }), members: [ANA, BO].map((user) => ({ user, display_name: '', roles: [], rank: 1, joined_at: 1, read_seq: 0 })), roles: [] });
    await chats.refreshDetail(G);
    await presence.showMembers(G);
    await presence.showMembers(G);
    expect(gw.asked()).toEqual([
      [ANA, BO],
      [ANA, BO],
    ]);
  });

  it('asks again about everyone shown after a reconnect', async () => {
    const { presence } = await setup([dm(ANA), dm(BO)], { [ANA]: { status: 'online' }, [BO]: { status: 'online' } });
    gw.emit('presence', { user: CY, status: 'online' });
    gw.answers['presence.get'] = fromTable({ [ANA]: { status: 'offline', last_seen: 7 }, [BO]: { status: 'online' } });
    // The first ready (and a ready without a lost connection) asks nothing more.
    gw.emit('ready', {});
    await flush();
    expect(gw.asked()).toHaveLength(1);
    gw.emit('state', 'reconnecting');
    gw.emit('ready', {});
    await flush();
    expect(gw.asked()).toHaveLength(2);
    expect(new Set(gw.asked()[1])).toEqual(new Set([ANA, BO, CY]));
    expect(presence.of(ANA)).toEqual({ status: 'offline', lastSeen: 7 });
    expect(presence.of(CY)).toBeUndefined();
  });

  it('starts afresh when another user signs in', async () => {
    const { presence } = await setup([dm(ANA)], { [ANA]: { status: 'online' } });
    expect(presence.isOnline(ANA)).toBe(true);
    useSessionStore().userId = BO;
    await flush();
    expect(presence.of(ANA)).toBeUndefined();
    gw.emit('presence', { user: CY, status: 'online' });
    gw.emit('signedOut', 'revoked');
    expect(presence.of(CY)).toBeUndefined();
  });
});
