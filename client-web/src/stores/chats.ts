/**
 * The chats store: the chat list, one cached timeline window per chat, live pushes.
 *
 * API note (for the group panel and other views) — stable:
 *   const chats = useChatsStore();
 *   chats.client                      the typed SDK (`ChatClient`, src/protocol/chat.ts): call
 *                                     writes on it directly (kick, ban, roles.*, links.*, …);
 *                                     every committed write comes back as a `chat.event` push,
 *                                     which this store applies — no need to patch state by hand.
 *   chats.me                          my user id (or null)
 *   chats.list                        ChatEntry[] sorted by activity (newest first)
 *   chats.entry(group)                ChatEntry | undefined (reactive)
 *   chats.detail(group)               ChatDetail | null: members, roles, invited (call
 *                                     `refreshDetail(group)` once to load it; admin pushes
 *                                     refresh it by themselves)
 *   chats.refreshDetail(group)        Promise<Result<ChatDetail, ChatError>>
 *   chats.can(group, 'kick_members')  boolean from my_permissions (false once I left); live
 *   chats.isOwner(group)              boolean
 *   chats.displayName(user)           a name to show (fetches profiles lazily)
 *   chats.hasUnreadMention(group)     boolean: an unread message mentions me or @everyone
 *   chats.isMuted(group)              boolean: I muted the chat (and the mute has not run out);
 *                                     muted chats stay out of unread totals and notifications
 *   chats.isPinned(group)             boolean: pinned to the top of my list (list puts them first)
 *   chats.setChatSettings(group, {mutedUntil?, pinned?})  my mute / pin, synced to my devices
 *   chats.upsert(summary)             after dm.open / groups.create / join / accept / redeem
 *   chats.ensureLoaded()              loads the list and invites once
 *   chats.send(group, text, options)  queues a message (src/protocol/outbox.ts): it goes out in
 *                                     order, its txn fixed now; returns the queued entry
 *   chats.pending(group)              Outgoing[]: my messages not shown as events yet (sending,
 *                                     sent, failed), to show after the timeline
 *   chats.retrySend(txn) / chats.discardSend(txn)   for a failed one
 * A ChatEntry: { summary, left, detail, items, moreBefore, moreAfter, loaded, typing, reads }.
 * `left` is null while I am a member, else why not ('kicked' | 'banned' | 'left' | 'deleted' |
 * 'removed'); the chat stays listed (read-only) until `dismiss(group)`.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, watch } from 'vue';

import {
  ChatClient,
  checkGatewayMessage,
  isMessageChange,
  Outbox,
  OutboxPersistence,
  Permissions,
  removesUser,
  TYPING_TTL_MS,
  type ChatDetail,
  type ChatError,
  type ChatEventPush,
  type ChatSettings,
  type ChatSummary,
  type GroupId,
  type InviteInfo,
  type Outgoing,
  type PostOptions,
  type PermissionName,
  type Reaction,
  type ReadPush,
  type Result,
  type TimelineItem,
  type TypingPush,
  type UserId,
  type WriteResult,
} from '@/protocol';
import { browserStorage, forgetDrafts } from '@/components/chat/drafts';
import { mentionsMe } from '@/components/chat/mentions';
import { outboxStore } from '@/services/outbox-store';
import { useSdk } from '@/services/sdk';
import { useSessionStore } from '@/stores/session';

export type LeftReason = 'kicked' | 'banned' | 'left' | 'deleted' | 'removed';

export interface ChatEntry {
  summary: ChatSummary;
  left: LeftReason | null;
  detail: ChatDetail | null;
  /** A contiguous window of the timeline, ascending seq. */
  items: TimelineItem[];
  moreBefore: boolean;
  /** True when the window does not reach the newest item (after a jump). */
  moreAfter: boolean;
  loaded: boolean;
  loading: boolean;
  /** user → when their typing expires (ms). */
  typing: Record<string, number>;
  /** user → read position. */
  reads: Record<string, number>;
}

/** Page size for `msgs.history`. */
export const PAGE = 50;

let sharedClient: ChatClient | null = null;
let sharedGatewayRef: unknown = null;

/** One ChatClient per gateway (the SDK can be replaced by tests). */
function chatClient(): ChatClient {
  const { gateway } = useSdk();
  if (sharedClient === null || sharedGatewayRef !== gateway) {
    sharedClient = new ChatClient(gateway);
    sharedGatewayRef = gateway;
  }
  return sharedClient;
}

export const useChatsStore = defineStore('chats', () => {
  const { gateway } = useSdk();
  // markRaw: the store must not wrap the client in a reactive proxy (its #private fields
  // would then be read through the proxy and throw).
  const client = markRaw(chatClient());
  const session = useSessionStore();

  const entries = ref<Record<string, ChatEntry>>({});
  const invites = ref<InviteInfo[]>([]);
  const names = ref<Record<string, string>>({});
  const listLoaded = ref(false);
  const listError = ref<string | null>(null);
  /** group → the newest seq of a message that mentions me, seen as a push (also when the window is not loaded). */
  const mentionSeqs = ref<Record<string, number>>({});
  const me = computed(() => session.userId as UserId | null);

  // Messages I sent that are not shown as events yet, per chat, in order (see `send`).
  const outbox = new Outbox({
    post: (group, text, options, txn) => client.post(group, text, options, txn),
    committed: (group, seq) => !showsEnd(group) || (entries.value[group]?.items.at(-1)?.seq ?? 0) >= seq,
    connecting: () => gateway.state !== 'offline',
  });
  // Kept in IndexedDB per user, so queued messages survive a reload (outbox-persist.ts).
  const keptOutbox = new OutboxPersistence(outbox, outboxStore());
  // The connection is back: what waits after a lost connection goes at once.
  gateway.on('state', (state) => state === 'connected' && outbox.wake());
  /** group → its outbox queue (snapshots, replaced on every change). */
  const outgoing = shallowRef<Record<string, readonly Outgoing[]>>({});
  outbox.onChange((group) => {
    const next = { ...outgoing.value };
    const queue = outbox.list(group);
    if (queue.length === 0) delete next[group];
    else next[group] = queue;
    outgoing.value = next;
  });

  /** True when the loaded window reaches the newest event (live pushes are appended to it). */
  function showsEnd(group: string): boolean {
    const e = entries.value[group];
    return e !== undefined && e.loaded && !e.moreAfter;
  }

  // Pinned chats first, the most recently pinned on top; then by activity.
  const list = computed(() =>
    Object.values(entries.value).sort(
      (a, b) => (b.summary.pinnedAt ?? -1) - (a.summary.pinnedAt ?? -1) || activity(b) - activity(a) || b.summary.lastSeq - a.summary.lastSeq,
    ),
  );

  function activity(e: ChatEntry): number {
    return e.summary.last?.ts ?? 0;
  }

  function entry(group: string): ChatEntry | undefined {
    return entries.value[group];
  }

  function newEntry(summary: ChatSummary): ChatEntry {
    return { summary, left: null, detail: null, items: [], moreBefore: true, moreAfter: false, loaded: false, loading: false, typing: {}, reads: {} };
  }

  /** Adds or updates a chat from a summary (dm.open, create, join, accept, redeem, list). */
  function upsert(summary: ChatSummary): ChatEntry {
    const existing = entries.value[summary.group];
    if (existing === undefined) {
      entries.value[summary.group] = newEntry(summary);
    } else {
      existing.summary = summary;
      existing.left = null;
    }
    if (summary.peer !== undefined && summary.peerReadSeq !== undefined) noteRead(summary.group, summary.peer, summary.peerReadSeq);
    return entries.value[summary.group] as ChatEntry;
  }

  function dismiss(group: string): void {
    delete entries.value[group];
  }

  // --- loading -------------------------------------------------------------------------------

  let loadingList: Promise<void> | null = null;

  async function loadList(): Promise<void> {
    const r = await client.listChats();
    if (!r.ok) {
      listError.value = r.error.message;
      return;
    }
    listError.value = null;
    const seen = new Set<string>();
    for (const s of r.value) {
      seen.add(s.group);
      upsert(s);
    }
    // Chats I was in but am no longer (removed while away).
    for (const e of Object.values(entries.value)) if (!seen.has(e.summary.group) && e.left === null) e.left = 'removed';
    listLoaded.value = true;
  }

  async function loadInvites(): Promise<void> {
    const r = await client.listInvites();
    if (r.ok) invites.value = r.value;
  }

  /** Loads the list and the invites once (later changes come as pushes). */
  function ensureLoaded(): Promise<void> {
    loadingList ??= Promise.all([loadList(), loadInvites()]).then(() => undefined);
    return loadingList;
  }

  /**
   * The next page of a chat's members (`members.list` after the detail's `membersNext`),
   * appended to its detail. False when there was nothing more or the call failed.
   */
  async function loadMoreMembers(group: GroupId): Promise<boolean> {
    const e = entries.value[group];
    const after = e?.detail?.membersNext;
    if (e?.detail == null || after === undefined) return false;
    const r = await client.listMembers(group, after);
    if (!r.ok || e.detail === null || e.detail.membersNext !== after) return false;
    const known = new Set(e.detail.members.map((m) => m.user));
    const fresh = r.value.items.filter((m) => !known.has(m.user));
    for (const m of fresh) {
      names.value[m.user] = m.displayName || names.value[m.user] || '';
      noteRead(group, m.user, m.readSeq);
    }
    const members = [...e.detail.members, ...fresh];
    const rest = Object.fromEntries(Object.entries(e.detail).filter(([k]) => k !== 'membersNext')) as Omit<ChatDetail, 'membersNext'>;
    e.detail = r.value.next === undefined ? { ...rest, members } : { ...rest, members, membersNext: r.value.next };
    return true;
  }

  async function refreshDetail(group: GroupId): Promise<Result<ChatDetail, ChatError>> {
    const r = await client.getChat(group);
    if (r.ok) {
      const e = upsert(r.value.chat);
      e.detail = r.value;
      for (const m of r.value.members) {
        names.value[m.user] = m.displayName || names.value[m.user] || '';
        noteRead(group, m.user, m.readSeq);
      }
    } else if (r.error.code === 'not_found' || r.error.code === 'forbidden') {
      const e = entries.value[group];
      if (e !== undefined && e.left === null) e.left = 'removed';
    }
    return r;
  }

  const detailTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Coalesces bursts of admin events into one `chats.get`. */
  function refreshDetailSoon(group: GroupId): void {
    if (detailTimers.has(group)) return;
    detailTimers.set(
      group,
      setTimeout(() => {
        detailTimers.delete(group);
        void refreshDetail(group);
      }, 100),
    );
  }

  /** Loads the newest page of a chat's timeline (replacing the window). */
  async function loadLatest(group: GroupId): Promise<boolean> {
    const e = entries.value[group];
    if (e === undefined) return false;
    e.loading = true;
    const r = await client.history(group, { limit: PAGE });
    e.loading = false;
    if (!r.ok) return false;
    e.items = mergeItems([], r.value.items);
    e.moreBefore = r.value.moreBefore;
    e.moreAfter = r.value.moreAfter;
    e.loaded = true;
    settleOutbox(group);
    return true;
  }

  /** Acknowledged messages whose events the window now holds leave the outbox. */
  function settleOutbox(group: GroupId): void {
    const last = entries.value[group]?.items.at(-1);
    if (showsEnd(group) && last !== undefined) outbox.confirmUpTo(group, last.seq);
  }

  /** Opens a chat: a first page once (around the first unread message, else the newest), and its detail. */
  async function open(group: GroupId): Promise<void> {
    let e = entries.value[group];
    if (e === undefined) {
      const d = await refreshDetail(group);
      if (!d.ok) return;
      e = entries.value[group];
    } else if (e.detail === null && e.left === null) {
      void refreshDetail(group);
    }
    if (e === undefined || e.loaded || e.loading) return;
    // With unread messages, the page around the first of them (the view opens there), else the newest.
    const unread = e.summary.unread > 0 && e.left === null;
    if (!unread || !(await jumpTo(group, e.summary.readSeq + 1))) await loadLatest(group);
  }

  async function loadOlder(group: GroupId): Promise<boolean> {
    const e = entries.value[group];
    const first = e?.items[0];
    if (e === undefined || !e.moreBefore || e.loading) return false;
    if (first === undefined) return loadLatest(group);
    e.loading = true;
    const r = await client.history(group, { before: first.seq, limit: PAGE });
    e.loading = false;
    if (!r.ok) return false;
    e.items = mergeItems(e.items, r.value.items);
    e.moreBefore = r.value.moreBefore;
    return r.value.items.length > 0;
  }

  async function loadNewer(group: GroupId): Promise<boolean> {
    const e = entries.value[group];
    const last = e?.items.at(-1);
    if (e === undefined || !e.moreAfter || e.loading || last === undefined) return false;
    e.loading = true;
    const r = await client.history(group, { after: last.seq, limit: PAGE });
    e.loading = false;
    if (!r.ok) return false;
    e.items = mergeItems(e.items, r.value.items);
    e.moreAfter = r.value.moreAfter;
    settleOutbox(group);
    return r.value.items.length > 0;
  }

  /** Makes `seq` part of the window (loading around it if needed); false if it cannot be found. */
  async function jumpTo(group: GroupId, seq: number): Promise<boolean> {
    const e = entries.value[group];
    if (e === undefined) return false;
    if (e.items.some((i) => i.seq === seq)) return true;
    e.loading = true;
    const r = await client.history(group, { around: seq, limit: PAGE });
    e.loading = false;
    if (!r.ok) return false;
    e.items = mergeItems([], r.value.items);
    e.moreBefore = r.value.moreBefore;
    e.moreAfter = r.value.moreAfter;
    e.loaded = true;
    return e.items.some((i) => i.seq === seq);
  }

  // --- pushes --------------------------------------------------------------------------------

  function applyEvent(push: ChatEventPush): void {
    const { group, item } = push;
    const e = entries.value[group];
    const myId = me.value;
    if (e === undefined) {
      // A chat I did not know: a first DM, an accepted invite or a join on another device.
      if (myId !== null && removesUser(item, myId) === null) void refreshDetail(group);
      return;
    }
    const s = e.summary;
    const seqNow = Math.max(s.lastSeq, item.seq);
    if (isMessageChange(item.kind)) {
      applyMessageChange(e, item);
      e.summary = { ...e.summary, lastSeq: seqNow };
      return;
    }
    // A timeline row: a message or an admin/membership line.
    const fromOther = item.sender !== myId;
    const isMsg = item.kind === 'msg.post';
    if (!e.moreAfter && e.loaded) {
      e.items = mergeItems(e.items, [item]);
      // My message may be pushed before the answer to its send: the outbox must not show it twice.
      if (isMsg && !fromOther) outbox.noteEcho(group, item);
      settleOutbox(group);
    }
    e.summary = {
      ...s,
      lastSeq: seqNow,
      last: item,
      unread: isMsg && fromOther && item.seq > s.readSeq ? s.unread + 1 : s.unread,
      readSeq: !fromOther && item.seq > s.readSeq ? item.seq : s.readSeq,
    };
    if (isMsg && mentionsMe(item, myId) && item.seq > (mentionSeqs.value[group] ?? 0)) mentionSeqs.value[group] = item.seq;
    if (isMsg && item.sender in e.typing) {
      delete e.typing[item.sender];
    }
    if (!fromOther) noteRead(group, item.sender, item.seq);
    if (isMsg) return;
    const removed = myId === null ? null : removesUser(item, myId);
    if (removed !== null) {
      e.left = removed;
      e.summary = { ...e.summary, myPermissions: Permissions.NONE };
      return;
    }
    if (item.kind === 'member.join' && item.sender === myId) e.left = null;
    refreshDetailSoon(group);
  }

  function applyMessageChange(e: ChatEntry, change: TimelineItem): void {
    const b = change.body;
    if (b.kind !== 'msg.edit' && b.kind !== 'msg.delete' && b.kind !== 'msg.react' && b.kind !== 'msg.pin') return;
    if (b.kind === 'msg.delete' && mentionSeqs.value[e.summary.group] === b.seq) delete mentionSeqs.value[e.summary.group];
    if (b.kind === 'msg.pin') {
      const pinned = e.summary.pinned.filter((p) => p !== b.seq);
      if (b.on) pinned.push(b.seq);
      e.summary = { ...e.summary, pinned };
    }
    const update = (target: TimelineItem): TimelineItem => {
      const body = target.body;
      switch (b.kind) {
        case 'msg.edit':
          return body.kind === 'msg.post' ? { ...target, body: { ...body, text: b.text }, editedAt: change.ts } : target;
        case 'msg.delete':
          return body.kind === 'msg.post' ? { ...target, body: { ...body, text: '' }, deleted: true, reactions: [] } : { ...target, deleted: true };
        case 'msg.pin':
          return { ...target, pinned: b.on };
        case 'msg.react':
          return { ...target, reactions: react(target.reactions, b.emoji, change.sender, b.on) };
      }
    };
    const idx = e.items.findIndex((i) => i.seq === b.seq);
    if (idx >= 0) {
      const before = e.items[idx] as TimelineItem;
      const after = update(before);
      e.items.splice(idx, 1, after);
      if (b.kind === 'msg.delete' && !before.deleted && before.sender !== me.value && before.seq > e.summary.readSeq && e.summary.unread > 0) {
        e.summary = { ...e.summary, unread: e.summary.unread - 1 };
      }
    }
    const last = e.summary.last;
    if (last !== undefined && last.seq === b.seq) e.summary = { ...e.summary, last: update(last) };
  }

  function applyRead(push: ReadPush): void {
    noteRead(push.group, push.user, push.seq);
    const e = entries.value[push.group];
    if (e === undefined) return;
    if (push.user === me.value && push.seq > e.summary.readSeq) {
      e.summary = { ...e.summary, readSeq: push.seq, unread: unreadAfter(e, push.seq) };
    } else if (push.user === e.summary.peer && push.seq > (e.summary.peerReadSeq ?? 0)) {
      e.summary = { ...e.summary, peerReadSeq: push.seq };
    }
  }

  function noteRead(group: string, user: string, seq: number): void {
    const e = entries.value[group];
    if (e === undefined) return;
    if ((e.reads[user] ?? 0) < seq) e.reads[user] = seq;
  }

  /** Unread messages after `seq`, counted from the window when it covers them. */
  function unreadAfter(e: ChatEntry, seq: number): number {
    if (seq >= e.summary.lastSeq) return 0;
    const first = e.items[0];
    const covered = e.loaded && !e.moreAfter && (first === undefined || first.seq <= seq + 1 || !e.moreBefore);
    if (!covered) return e.summary.unread;
    return e.items.filter((i) => i.seq > seq && i.kind === 'msg.post' && !i.deleted && i.sender !== me.value).length;
  }

  const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  function applyTyping(push: TypingPush, now = Date.now()): void {
    if (push.user === me.value) return;
    const e = entries.value[push.group];
    if (e === undefined) return;
    e.typing[push.user] = now + TYPING_TTL_MS;
    const key = `${push.group} ${push.user}`;
    const old = typingTimers.get(key);
    if (old !== undefined) clearTimeout(old);
    typingTimers.set(
      key,
      setTimeout(() => {
        typingTimers.delete(key);
        const cur = entries.value[push.group];
        if (cur !== undefined) {
          delete cur.typing[push.user];
        }
      }, TYPING_TTL_MS),
    );
  }

  function applyInvite(invite: InviteInfo): void {
    invites.value = [invite, ...invites.value.filter((i) => i.group !== invite.group)];
  }

  /** The node could not resume: reload everything that is shown. */
  async function resync(): Promise<void> {
    await Promise.all([loadList(), loadInvites()]);
    await Promise.all(
      Object.values(entries.value)
        .filter((e) => e.left === null)
        .flatMap((e) => [e.loaded ? loadLatest(e.summary.group) : Promise.resolve(true), e.detail !== null ? refreshDetail(e.summary.group) : Promise.resolve()]),
    );
  }

  client.on('event', applyEvent);
  client.on('read', applyRead);
  client.on('typing', (p) => applyTyping(p));
  client.on('invite', applyInvite);
  client.on('settings', applySettings);
  client.on('resync', () => void resync());
  gateway.on('profile', (p) => (names.value[p.id] = p.displayName));
  gateway.on('signedOut', () => reset());
  // Another user signed in (or out) in this tab: nothing of the last one may remain.
  watch(
    () => session.userId,
    (now, before) => {
      if (now !== before) reset();
      // Signed out on purpose (no notice, unlike an ended session): what this browser kept goes.
      if (before && now === null && session.notice === null) {
        void keptOutbox.forget(before);
        forgetDrafts(browserStorage(), before);
      }
      if (now) void keptOutbox.attach(now);
    },
  );
  if (session.userId) void keptOutbox.attach(session.userId);

  function reset(): void {
    entries.value = {};
    invites.value = [];
    names.value = {};
    mentionSeqs.value = {};
    fetching.clear();
    lastTypingSent.clear();
    listLoaded.value = false;
    loadingList = null;
    keptOutbox.detach();
    outbox.clear();
  }

  // --- actions -------------------------------------------------------------------------------

  function can(group: string, flag: PermissionName): boolean {
    const e = entries.value[group];
    if (e === undefined || e.left !== null) return false;
    return Permissions.has(e.summary.myPermissions, flag);
  }

  function isOwner(group: string): boolean {
    const e = entries.value[group];
    return e !== undefined && e.left === null && e.summary.owner === me.value;
  }

  /** True when an unread message (in the loaded window, the last one, or one pushed) mentions me or @everyone. */
  function hasUnreadMention(group: string): boolean {
    const e = entries.value[group];
    if (e === undefined || e.left !== null || e.summary.unread === 0) return false;
    const read = e.summary.readSeq;
    if ((mentionSeqs.value[group] ?? 0) > read) return true;
    const last = e.summary.last;
    if (last !== undefined && last.seq > read && mentionsMe(last, me.value)) return true;
    return e.items.some((i) => i.seq > read && mentionsMe(i, me.value));
  }

  /** True while I have the chat muted. */
  function isMuted(group: string, now = Date.now()): boolean {
    const until = entries.value[group]?.summary.mutedUntil;
    return until !== undefined && until > now;
  }

  function isPinned(group: string): boolean {
    return entries.value[group]?.summary.pinnedAt !== undefined;
  }

  /** My settings of a chat as the node now holds them (my reply, or a push from another device). */
  function applySettings(settings: ChatSettings): void {
    const e = entries.value[settings.group];
    if (e === undefined) return;
    const summary: Omit<ChatSummary, 'mutedUntil' | 'pinnedAt'> & { mutedUntil?: number; pinnedAt?: number } = { ...e.summary };
    delete summary.mutedUntil;
    delete summary.pinnedAt;
    if (settings.mutedUntil !== undefined) summary.mutedUntil = settings.mutedUntil;
    if (settings.pinnedAt !== undefined) summary.pinnedAt = settings.pinnedAt;
    e.summary = summary;
  }

  /** Mutes (`mutedUntil`: a time, `MUTED_FOREVER`, or null to unmute) or pins a chat, for all my devices. */
  async function setChatSettings(group: GroupId, changes: { readonly mutedUntil?: number | null; readonly pinned?: boolean }): Promise<Result<ChatSettings, ChatError>> {
    const r = await client.chatSettings(group, changes);
    if (r.ok) applySettings(r.value);
    return r;
  }

  function detail(group: string): ChatDetail | null {
    return entries.value[group]?.detail ?? null;
  }

  /** Moves my read position to `seq` (only forward). */
  async function markRead(group: GroupId, seq: number): Promise<void> {
    const e = entries.value[group];
    if (e === undefined || e.left !== null || seq <= e.summary.readSeq) return;
    e.summary = { ...e.summary, readSeq: seq, unread: unreadAfter(e, seq) };
    noteRead(group, me.value ?? '', seq);
    await client.markRead(group, seq);
  }

  const lastTypingSent = new Map<string, number>();
  /** Tells the others I am typing, at most every 3 s. */
  function notifyTyping(group: GroupId, now = Date.now()): void {
    const last = lastTypingSent.get(group) ?? 0;
    if (now - last < 3_000) return;
    lastTypingSent.set(group, now);
    void client.typing(group);
  }

  function typingUsers(group: string, now = Date.now()): UserId[] {
    const e = entries.value[group];
    if (e === undefined) return [];
    return Object.entries(e.typing)
      .filter(([, until]) => until > now)
      .map(([u]) => u as UserId);
  }

  /**
   * Queues a message: it shows at once (`pending`), goes out after the ones queued before it,
   * with a txn chosen now, and leaves the queue when its event is shown.
   */
  function send(group: GroupId, text: string, options: PostOptions = {}): Outgoing {
    lastTypingSent.delete(group);
    return outbox.enqueue(group, text, options);
  }

  /**
   * My queued messages of a chat still to show after its timeline: none while the window does
   * not reach the end, and none that the window already shows as an event.
   */
  function pending(group: string): readonly Outgoing[] {
    const queue = outgoing.value[group];
    const e = entries.value[group];
    if (queue === undefined || e === undefined || e.moreAfter) return [];
    const shown = new Set(e.items.map((i) => i.seq));
    return queue.filter((o) => !(o.seq !== undefined && shown.has(o.seq)) && !(o.echoSeq !== undefined && shown.has(o.echoSeq)));
  }

  function retrySend(txn: string): boolean {
    return outbox.retry(txn);
  }

  function discardSend(txn: string): boolean {
    return outbox.discard(txn);
  }

  /** Adds my reaction, or removes it when I already reacted with `emoji`. */
  function toggleReaction(group: GroupId, item: TimelineItem, emoji: string): Promise<Result<WriteResult, ChatError>> {
    const mine = item.reactions.some((r) => r.emoji === emoji && r.users.includes(me.value as UserId));
    return client.react(group, item.seq, emoji, !mine);
  }

  // --- names ---------------------------------------------------------------------------------

  const fetching = new Set<string>();
  /** A name to show for `user`: the display name once known, else the user name. */
  function displayName(user: string): string {
    if (user === me.value && session.profile?.displayName) return session.profile.displayName;
    const known = names.value[user];
    if (known) return known;
    if (!fetching.has(user) && user.startsWith('@')) {
      fetching.add(user);
      void gateway.request('profile.get', { user }).then((r) => {
        if (!r.ok) return;
        const p = checkGatewayMessage('profile-info', r.value);
        if (p.ok && typeof p.value.display_name === 'string' && p.value.display_name !== '') names.value[user] = p.value.display_name;
      });
    }
    return user.startsWith('@') ? user.slice(1).split(':')[0] ?? user : user;
  }

  /** The title of a chat: its name, or the peer's name for a direct chat. */
  function title(summary: ChatSummary): string {
    if (summary.kind === 'direct') return summary.peer ? displayName(summary.peer) : 'Direct chat';
    return summary.name || 'Unnamed group';
  }

  return {
    client,
    me,
    entries,
    list,
    invites,
    names,
    listLoaded,
    listError,
    entry,
    detail,
    upsert,
    dismiss,
    ensureLoaded,
    loadList,
    loadInvites,
    refreshDetail,
    loadMoreMembers,
    open,
    loadLatest,
    loadOlder,
    loadNewer,
    jumpTo,
    applyEvent,
    applyRead,
    applyTyping,
    applyInvite,
    resync,
    reset,
    can,
    isOwner,
    markRead,
    notifyTyping,
    typingUsers,
    send,
    pending,
    retrySend,
    discardSend,
    toggleReaction,
    displayName,
    title,
    hasUnreadMention,
    isMuted,
    isPinned,
    setChatSettings,
    applySettings,
  };
});

/** Merges items into a window: one per seq (the newer copy wins), ascending. */
export function mergeItems(current: readonly TimelineItem[], incoming: readonly TimelineItem[]): TimelineItem[] {
  const bySeq = new Map<number, TimelineItem>();
  for (const i of current) bySeq.set(i.seq, i);
  for (const i of incoming) bySeq.set(i.seq, i);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Applies one reaction change to a message's reactions (counts exact, users capped at 20). */
export function react(reactions: readonly Reaction[], emoji: string, user: UserId, on: boolean): Reaction[] {
  const out = reactions.map((r) => ({ ...r, users: [...r.users] }));
  const r = out.find((x) => x.emoji === emoji);
  if (on) {
    if (r === undefined) return [...out, { emoji, count: 1, users: [user] }];
    if (r.users.includes(user)) return out;
    r.count += 1;
    if (r.users.length < 20) r.users.push(user);
    return out;
  }
  if (r === undefined) return out;
  const had = r.users.includes(user);
  if (!had && r.users.length >= r.count) return out; // not listed and the list is complete
  r.users = r.users.filter((u) => u !== user);
  r.count -= 1;
  return out.filter((x) => x.count > 0);
}
