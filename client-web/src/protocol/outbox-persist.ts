/**
 * Keeping the outbox across reloads: each signed-in user's unsent messages, with their txns, in
 * IndexedDB, one record per message (so two tabs of one user only ever write or delete the
 * messages they hold, not each other's). After a reload they are put back (`Outbox.restore`) and sent
 * again with the same txn, so one that reached the node before the reload is committed once
 * (gateway.md §8.1: the node remembers a user's txns for at least 24 hours).
 *
 * - Only what still has to go is kept: queued, on its way, or failed (shown with Retry and
 *   Delete). An acknowledged message is committed: the timeline shows it after a reload.
 * - What is read back was written by an earlier version of the app, or altered by hand: it is
 *   checked field by field, and an entry that does not hold is dropped alone.
 * - A message queued so long ago that the node may have forgotten its txn is not sent again by
 *   itself (it could then be committed twice): it comes back failed, for the user to retry or
 *   delete. Whether it was sent is not known: the saved attempt count may lag the request.
 * - A tab writes only the messages it changed since its last save, so it never writes back one
 *   another tab sent or deleted meanwhile.
 *
 * Framework-free; the IndexedDB part is small and the rest is tested without a browser.
 */
import type { AttachmentInput, PostOptions } from './chat';
import { parseGroupId, parseUserId, type GroupId, type UserId } from './ids';
import { MAY_HAVE_BEEN_SENT, RESEND_WITHIN_MS, type Outbox, type Outgoing, type OutgoingState } from './outbox';

export { RESEND_WITHIN_MS };

/** Where kept messages live, keyed by user and txn. */
export interface OutboxStore {
  /** What is kept for `user`, as stored (unchecked: nothing read back is trusted yet). */
  load(user: string): Promise<KeptRecord[]>;
  /** Writes `put` and drops the messages `drop` (txns) of `user`, in one go. */
  save(user: string, put: readonly Outgoing[], drop: readonly string[]): Promise<void>;
  /** Drops everything kept for `user` (an explicit sign-out). */
  forget(user: string): Promise<void>;
}

/** One kept message as read back: its key, and the entry (unchecked). */
export interface KeptRecord {
  readonly txn: unknown;
  readonly entry: unknown;
}

const KEPT: ReadonlySet<OutgoingState> = new Set(['queued', 'sending', 'failed']);
const MAX_TXN_BYTES = 64;

/**
 * The entries of a queue worth keeping across a reload, as plain data (copied field by field:
 * options built by a view may be reactive proxies, which IndexedDB cannot store).
 */
export function keptEntries(queue: readonly Outgoing[]): Outgoing[] {
  return queue.filter((e) => KEPT.has(e.state)).flatMap((e) => reviveEntry(e) ?? []);
}

/**
 * Entries read back from storage, checked; ready for `Outbox.restore`. Ones on their way at the
 * reload are queued again; ones queued longer than `RESEND_WITHIN_MS` ago come back failed, even
 * when none was recorded as sent (the save of an attempt may not have been written before the
 * request left).
 */
export function reviveEntries(raw: readonly unknown[], now: number): Outgoing[] {
  const out: Outgoing[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const e = reviveEntry(r);
    if (e === null || seen.has(e.txn)) continue;
    seen.add(e.txn);
    if (e.state !== 'failed' && now - e.queuedAt > RESEND_WITHIN_MS) {
      out.push({ ...e, state: 'failed', error: MAY_HAVE_BEEN_SENT });
    } else {
      out.push(e.state === 'sending' ? { ...e, state: 'queued' } : e);
    }
  }
  return out.sort((a, b) => a.queuedAt - b.queuedAt);
}

function reviveEntry(raw: unknown): Outgoing | null {
  if (!isRecord(raw)) return null;
  const { txn, group, text, queuedAt, state, attempts } = raw;
  if (typeof txn !== 'string' || txn === '' || new TextEncoder().encode(txn).length > MAX_TXN_BYTES) return null;
  if (typeof group !== 'string' || !parseGroupId(group).ok) return null;
  if (typeof text !== 'string') return null;
  if (!isCount(queuedAt) || !isCount(attempts)) return null;
  if (state !== 'queued' && state !== 'sending' && state !== 'failed') return null;
  const options = reviveOptions(raw.options);
  if (options === null) return null;
  const entry: Outgoing = { txn, group: group as GroupId, text, options, queuedAt, state, attempts };
  if (state !== 'failed') return entry;
  const error = raw.error;
  const reason = isRecord(error) && typeof error.code === 'string' && typeof error.message === 'string' ? { code: error.code, message: error.message } : { code: 'internal', message: 'It was refused.' };
  return { ...entry, error: reason };
}

function reviveOptions(raw: unknown): PostOptions | null {
  if (raw === undefined) return {};
  if (!isRecord(raw)) return null;
  const out: { -readonly [K in keyof PostOptions]: PostOptions[K] } = {};
  if (raw.replyTo !== undefined) {
    if (!isCount(raw.replyTo)) return null;
    out.replyTo = raw.replyTo;
  }
  if (raw.mentions !== undefined) {
    if (!Array.isArray(raw.mentions)) return null;
    const mentions: UserId[] = [];
    for (const m of raw.mentions) {
      const id = typeof m === 'string' ? parseUserId(m) : null;
      if (id === null || !id.ok) return null;
      mentions.push(id.value);
    }
    out.mentions = mentions;
  }
  if (raw.mentionEveryone !== undefined) {
    if (typeof raw.mentionEveryone !== 'boolean') return null;
    out.mentionEveryone = raw.mentionEveryone;
  }
  if (raw.attachments !== undefined) {
    if (!Array.isArray(raw.attachments)) return null;
    const attachments: AttachmentInput[] = [];
    for (const a of raw.attachments) {
      const input = reviveAttachment(a);
      if (input === null) return null;
      attachments.push(input);
    }
    out.attachments = attachments;
  }
  return out;
}

function reviveAttachment(raw: unknown): AttachmentInput | null {
  if (!isRecord(raw) || typeof raw.media !== 'string') return null;
  const { name, voice, waveform, durationMs, poster } = raw;
  if (name !== undefined && typeof name !== 'string') return null;
  if (voice !== undefined && typeof voice !== 'boolean') return null;
  if (waveform !== undefined && !(waveform instanceof Uint8Array)) return null;
  if (durationMs !== undefined && !isCount(durationMs)) return null;
  if (poster !== undefined && typeof poster !== 'string') return null;
  return {
    media: raw.media,
    ...(name !== undefined ? { name } : {}),
    ...(voice !== undefined ? { voice } : {}),
    ...(waveform !== undefined ? { waveform } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(poster !== undefined ? { poster } : {}),
  };
}

/** What of a kept message can change after it is queued (text, options and queuedAt never do). */
function keptVersion(e: Outgoing): string {
  return JSON.stringify([e.state, e.attempts, e.error?.code ?? null, e.error?.message ?? null]);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Mirrors one user's outbox into an `OutboxStore`: `attach(user)` puts back what was kept for
 * them and from then on saves every change; `detach()` stops saving (before the outbox is
 * cleared for another user, so clearing it does not wipe what is kept).
 */
export class OutboxPersistence {
  readonly #outbox: Outbox;
  readonly #store: OutboxStore;
  readonly #now: () => number;
  #user: string | null = null;
  /** group → the txns kept for it (what a later save must drop when they leave the queue). */
  readonly #kept = new Map<GroupId, Set<string>>();
  /**
   * txn → what was last written or read for it (`keptVersion`): a save writes only the messages
   * this tab changed since, so one another tab sent or deleted meanwhile is not written back.
   */
  readonly #written = new Map<string, string>();
  #unsubscribe: (() => void) | null = null;
  /** Saves still being written (tests and sign-out wait for them). */
  #writes: Promise<unknown> = Promise.resolve();

  constructor(outbox: Outbox, store: OutboxStore, now: () => number = Date.now) {
    this.#outbox = outbox;
    this.#store = store;
    this.#now = now;
  }

  /** Puts back what was kept for `user`, then keeps saving their changes. */
  async attach(user: string): Promise<void> {
    this.detach();
    this.#user = user;
    let records: KeptRecord[] = [];
    try {
      records = await this.#store.load(user);
    } catch {
      // Storage refused (private mode, quota, blocked): the outbox works, only not across reloads.
    }
    if (this.#user !== user) return;
    const revived = reviveEntries(
      records.map((r) => r.entry),
      this.#now(),
    );
    for (const e of revived) this.#keptIn(e.group).add(e.txn);
    // As stored, before reviving: what reviving changed (a send cut short, an old one failed) is written.
    for (const e of keptEntries(records.flatMap((r) => (isRecord(r.entry) ? [r.entry as unknown as Outgoing] : [])))) this.#written.set(e.txn, keptVersion(e));
    // Records that did not hold go now; the rest as their messages leave the queue.
    const usable = new Set(revived.map((e) => e.txn));
    const unusable = records.flatMap((r) => (typeof r.txn === 'string' && !usable.has(r.txn) ? [r.txn] : []));
    if (unusable.length > 0) this.#write(user, [], unusable);
    this.#unsubscribe = this.#outbox.onChange((group) => this.#save(user, group));
    this.#outbox.restore(revived);
  }

  /** Stops saving (the outbox may then be cleared without touching what is kept). */
  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#user = null;
    this.#kept.clear();
    this.#written.clear();
  }

  /** Stops saving and drops what is kept for `user`, after the saves already started. */
  forget(user: string): Promise<void> {
    this.detach();
    this.#writes = this.#writes.then(() => this.#store.forget(user).catch(() => undefined));
    return this.flushed();
  }

  /** Resolves once every save started so far is written. */
  flushed(): Promise<void> {
    return this.#writes.then(() => undefined);
  }

  #save(user: string, group: GroupId): void {
    const entries = keptEntries(this.#outbox.list(group));
    const now = new Set(entries.map((e) => e.txn));
    const before = this.#keptIn(group);
    const gone = [...before].filter((t) => !now.has(t));
    this.#kept.set(group, now);
    for (const t of gone) this.#written.delete(t);
    const changed = entries.filter((e) => {
      const version = keptVersion(e);
      if (this.#written.get(e.txn) === version) return false;
      this.#written.set(e.txn, version);
      return true;
    });
    if (changed.length > 0 || gone.length > 0) this.#write(user, changed, gone);
  }

  #keptIn(group: GroupId): Set<string> {
    let set = this.#kept.get(group);
    if (set === undefined) this.#kept.set(group, (set = new Set()));
    return set;
  }

  #write(user: string, put: readonly Outgoing[], drop: readonly string[]): void {
    this.#writes = this.#writes.then(() => this.#store.save(user, put, drop).catch(() => undefined));
  }
}

/** An `OutboxStore` in memory (tests, and browsers without IndexedDB). */
export class MemoryOutboxStore implements OutboxStore {
  /** user → txn → entry. */
  readonly records = new Map<string, Map<string, unknown>>();

  load(user: string): Promise<KeptRecord[]> {
    return Promise.resolve([...(this.records.get(user) ?? [])].map(([txn, entry]) => ({ txn, entry: structuredClone(entry) })));
  }

  save(user: string, put: readonly Outgoing[], drop: readonly string[]): Promise<void> {
    const mine = this.records.get(user) ?? new Map<string, unknown>();
    for (const txn of drop) mine.delete(txn);
    for (const e of put) mine.set(e.txn, structuredClone(e));
    if (mine.size === 0) this.records.delete(user);
    else this.records.set(user, mine);
    return Promise.resolve();
  }

  forget(user: string): Promise<void> {
    this.records.delete(user);
    return Promise.resolve();
  }
}

const DB_NAME = 'winichat';
const DB_VERSION = 1;
const OUTBOX = 'outbox';

/** Kept messages in IndexedDB: one record `{user, txn, entry}` per message. */
export class IndexedDbOutboxStore implements OutboxStore {
  readonly #factory: IDBFactory;
  #db: Promise<IDBDatabase> | null = null;

  constructor(factory: IDBFactory) {
    this.#factory = factory;
  }

  async load(user: string): Promise<KeptRecord[]> {
    const db = await this.#open();
    const records = await request<unknown[]>(db.transaction(OUTBOX, 'readonly').objectStore(OUTBOX).getAll(userRange(user)));
    return records.flatMap((r) => (isRecord(r) ? [{ txn: r.txn, entry: r.entry }] : []));
  }

  async save(user: string, put: readonly Outgoing[], drop: readonly string[]): Promise<void> {
    if (put.length === 0 && drop.length === 0) return;
    const db = await this.#open();
    const tx = db.transaction(OUTBOX, 'readwrite');
    const store = tx.objectStore(OUTBOX);
    for (const txn of drop) store.delete([user, txn]);
    for (const entry of put) store.put({ user, txn: entry.txn, entry });
    await done(tx);
  }

  async forget(user: string): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(OUTBOX, 'readwrite');
    tx.objectStore(OUTBOX).delete(userRange(user));
    await done(tx);
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = this.#factory.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(OUTBOX)) req.result.createObjectStore(OUTBOX, { keyPath: ['user', 'txn'] });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
      req.onblocked = () => reject(new Error('IndexedDB open blocked'));
    }).catch((e: unknown) => {
      this.#db = null;
      throw e;
    });
    return this.#db;
  }
}

/** Every key `[user, txn]` of one user (arrays sort after strings, so `[user, []]` ends the range). */
function userRange(user: string): IDBKeyRange {
  return IDBKeyRange.bound([user], [user, []]);
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}
