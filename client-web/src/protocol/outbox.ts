/**
 * The outbox: messages the user has sent that the node has not confirmed yet, one queue per chat.
 *
 * - A message gets its `txn` when it is queued (the moment the user presses Enter), and keeps it
 *   on every attempt: a send whose answer was lost is sent again with the same txn and the node
 *   commits it once (gateway.md §8.1).
 * - A chat's messages go out one after another, each only once the one before it was committed,
 *   so they are committed in the order they were written.
 * - `rate_limited` is waited out (growing pauses) and the same txn is sent again; a lost
 *   connection (`unavailable`, `timeout`) is retried for as long as the connection is being
 *   re-established. Any other refusal (`forbidden`, `bad_request`, …) marks the message failed:
 *   it stays in the queue, holding back the ones after it (to keep the order), until it is
 *   retried (same txn) or discarded.
 * - An acknowledged message stays (state `sent`) until its event is shown (`confirmUpTo`), so a
 *   view showing the queue after the timeline never shows a gap nor the same message twice.
 * - Messages kept from an earlier page (see `outbox-persist.ts`) come back with `restore`, with
 *   their txns, so a send that reached the node before a reload is not committed twice.
 * - `wake()` (the connection is back) cuts short the pause before the next attempt.
 * - A message already sent once is not sent again by itself more than `RESEND_WITHIN_MS` after
 *   it was queued or retried (the node may have forgotten its txn): it fails, for the user to
 *   retry or delete.
 *
 * Framework-free: the app mirrors it into reactive state through `onChange`.
 */
import { newTxn, type ChatError, type PostOptions, type TimelineItem, type WriteResult } from './chat';
import type { GroupId } from './ids';
import type { Result } from './result';

/** `queued`: waiting its turn; `sending`: on its way (or waiting to try again); `sent`: acknowledged, its event not shown yet; `failed`: refused, see `error`. */
export type OutgoingState = 'queued' | 'sending' | 'sent' | 'failed';

export interface Outgoing {
  /** The txn (unique per write): also the key of the entry. */
  readonly txn: string;
  readonly group: GroupId;
  readonly text: string;
  readonly options: PostOptions;
  /** When it was queued (ms). */
  readonly queuedAt: number;
  readonly state: OutgoingState;
  /** How many times it was sent. */
  readonly attempts: number;
  /** The committed seq (state `sent`). */
  readonly seq?: number;
  /**
   * The seq of an event of mine with the same content that was pushed before the answer came:
   * most likely this message, so a view may hide it (the answer decides).
   */
  readonly echoSeq?: number;
  /** Why it failed (state `failed`). */
  readonly error?: ChatError;
  /**
   * The refusal a message still being sent is waiting out (`unavailable`, `timeout`,
   * `rate_limited`): the app says what it waits for instead of an endless "sending".
   */
  readonly waitingOn?: ChatError;
}

/**
 * How long after it was queued (or retried by the user) a message that was already sent once is
 * still sent again by itself: well inside the 24 hours for which the node remembers txns
 * (gateway.md §8.1). Past that, a resend could be committed a second time.
 */
export const RESEND_WITHIN_MS = 20 * 60 * 60 * 1000;

/** Why a message past `RESEND_WITHIN_MS` is not sent again by itself. */
export const MAY_HAVE_BEEN_SENT: ChatError = {
  code: 'timeout',
  message: 'It was never confirmed and may have been sent: retry only if it is not in the chat.',
};

/** Sends one message; `ChatClient.post` fits. */
export type PostFn = (group: GroupId, text: string, options: PostOptions, txn: string) => Promise<Result<WriteResult, ChatError>>;

export interface OutboxOptions {
  readonly post: PostFn;
  /** True when the message is already shown as a committed event (or the view does not show the end of the chat): the entry can go at once. */
  readonly committed?: (group: GroupId, seq: number) => boolean;
  /** False once the connection was given up (signed out): lost sends then fail instead of waiting. */
  readonly connecting?: () => boolean;
  readonly newTxn?: () => string;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Pauses before each new attempt after `rate_limited`; when they run out, the message fails. Default 0.5, 1, 2, 4, 8 s. */
  readonly rateLimitedDelaysMs?: readonly number[];
  /** The pause before attempt n+1 after a lost connection, growing to this ceiling (default 10 s). */
  readonly maxLostDelayMs?: number;
}

const LOST = new Set(['unavailable', 'timeout']);

export class Outbox {
  readonly #o: Required<Omit<OutboxOptions, 'committed'>> & Pick<OutboxOptions, 'committed'>;
  /** group → its queue, oldest first. */
  readonly #queues = new Map<GroupId, Outgoing[]>();
  /** Groups whose queue is being worked on. */
  readonly #draining = new Set<GroupId>();
  readonly #listeners = new Set<(group: GroupId) => void>();
  /** Ends the pauses between attempts after a lost connection (see `wake`). */
  readonly #wakers = new Set<() => void>();
  /** txn → when the user last retried it: the resend window starts again there (in this page only). */
  readonly #retriedAt = new Map<string, number>();
  /** Bumped by `clear()`: a worker from before stops touching the queues. */
  #generation = 0;

  constructor(options: OutboxOptions) {
    this.#o = {
      committed: options.committed,
      post: options.post,
      connecting: options.connecting ?? (() => true),
      newTxn: options.newTxn ?? newTxn,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      rateLimitedDelaysMs: options.rateLimitedDelaysMs ?? [500, 1_000, 2_000, 4_000, 8_000],
      maxLostDelayMs: options.maxLostDelayMs ?? 10_000,
    };
  }

  /** Calls `listener(group)` after every change of that group's queue. */
  onChange(listener: (group: GroupId) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A chat's queue, oldest first (a snapshot). */
  list(group: GroupId): readonly Outgoing[] {
    return [...(this.#queues.get(group) ?? [])];
  }

  /** Every chat with something queued. */
  groups(): GroupId[] {
    return [...this.#queues.keys()];
  }

  /** Queues a message (its txn chosen now) and starts sending the chat's queue. */
  enqueue(group: GroupId, text: string, options: PostOptions = {}): Outgoing {
    const entry: Outgoing = { txn: this.#o.newTxn(), group, text, options, queuedAt: this.#o.now(), state: 'queued', attempts: 0 };
    const queue = this.#queues.get(group) ?? [];
    queue.push(entry);
    this.#queues.set(group, queue);
    this.#changed(group);
    void this.#drain(group);
    return entry;
  }

  /**
   * Puts back messages queued on an earlier page (same txn, text and options) and starts sending
   * them. Ones on their way then are sent again with their txn (the node answers a txn it already
   * committed with that first result); acknowledged ones were committed and are not put back; a
   * txn already here is skipped. They go before the messages queued since, keeping the order
   * written, but never before one already on its way.
   */
  restore(entries: readonly Outgoing[]): void {
    const touched = new Set<GroupId>();
    for (const e of [...entries].sort((a, b) => a.queuedAt - b.queuedAt)) {
      if (e.state === 'sent' || this.#find(e.txn) !== null) continue;
      const back = withoutUndefined({ ...e, state: e.state === 'failed' ? 'failed' : 'queued', seq: undefined, echoSeq: undefined, waitingOn: undefined }) as Outgoing;
      const queue = this.#queues.get(e.group) ?? [];
      let at = queue.length;
      while (at > 0 && queue[at - 1]?.state === 'queued' && (queue[at - 1]?.queuedAt ?? 0) > e.queuedAt) at -= 1;
      queue.splice(at, 0, back);
      this.#queues.set(e.group, queue);
      touched.add(e.group);
    }
    for (const g of touched) {
      this.#changed(g);
      void this.#drain(g);
    }
  }

  /** The connection is back: messages waiting to try again after a lost connection go now. */
  wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  /** Sends a failed message again, with its txn; the ones held behind it follow. */
  retry(txn: string): boolean {
    const found = this.#find(txn);
    if (found === null || found.state !== 'failed') return false;
    this.#retriedAt.set(txn, this.#o.now());
    this.#update(found.group, txn, { state: 'queued', error: undefined });
    void this.#drain(found.group);
    return true;
  }

  /** Drops a message that is not on its way (failed, or queued behind a failed one). */
  discard(txn: string): boolean {
    const found = this.#find(txn);
    if (found === null || found.state === 'sending' || found.state === 'sent') return false;
    this.#remove(found.group, (e) => e.txn === txn);
    void this.#drain(found.group);
    return true;
  }

  /**
   * The chat's events up to `seq` are shown: acknowledged messages up to there leave the queue.
   * (Events of a chat arrive in order, so one at or below `seq` that is not shown never will be.)
   */
  confirmUpTo(group: GroupId, seq: number): void {
    this.#remove(group, (e) => e.state === 'sent' && e.seq !== undefined && e.seq <= seq);
  }

  /**
   * An event of mine was pushed: when it has the content of the message on its way and that
   * one has no answer yet, remember its seq so a view can hide the duplicate.
   */
  noteEcho(group: GroupId, item: TimelineItem): void {
    if (item.body.kind !== 'msg.post') return;
    const body = item.body;
    const queue = this.#queues.get(group) ?? [];
    // The event of a message already answered (the same text sent twice in a row, say).
    if (queue.some((e) => e.seq === item.seq)) return;
    const head = queue.find((e) => e.state === 'sending' && e.seq === undefined && e.echoSeq === undefined);
    if (head === undefined || head.text !== body.text || head.options.replyTo !== body.replyTo) return;
    if ((head.options.attachments?.length ?? 0) !== body.attachments.length) return;
    this.#update(group, head.txn, { echoSeq: item.seq });
  }

  /** Forgets everything (signed out); sends on their way are abandoned. */
  clear(): void {
    this.#generation += 1;
    const groups = [...this.#queues.keys()];
    this.#queues.clear();
    this.#draining.clear();
    this.#retriedAt.clear();
    for (const g of groups) this.#changed(g);
  }

  // -------------------------------------------------------------------------------------------

  async #drain(group: GroupId): Promise<void> {
    if (this.#draining.has(group)) return;
    this.#draining.add(group);
    const generation = this.#generation;
    try {
      for (;;) {
        if (generation !== this.#generation) return;
        const next = (this.#queues.get(group) ?? []).find((e) => e.state !== 'sent');
        // A failed message holds back the ones after it: sending them first would change the order.
        if (next === undefined || next.state === 'failed') return;
        await this.#sendOne(next, generation);
      }
    } finally {
      if (generation === this.#generation) this.#draining.delete(group);
    }
  }

  async #sendOne(entry: Outgoing, generation: number): Promise<void> {
    const { group, txn } = entry;
    let limited = 0;
    let lost = 0;
    for (;;) {
      const sent = this.#find(txn)?.attempts ?? 0;
      if (sent > 0 && this.#o.now() - (this.#retriedAt.get(txn) ?? entry.queuedAt) > RESEND_WITHIN_MS) {
        this.#update(group, txn, { state: 'failed', error: MAY_HAVE_BEEN_SENT, echoSeq: undefined, waitingOn: undefined });
        return;
      }
      const attempts = sent + 1;
      this.#update(group, txn, { state: 'sending', attempts });
      const r = await this.#o.post(group, entry.text, entry.options, txn);
      if (generation !== this.#generation || this.#find(txn) === null) return;
      if (r.ok) {
        this.#update(group, txn, { waitingOn: undefined });
        this.#acknowledged(group, txn, r.value.seq);
        return;
      }
      const code = r.error.code;
      const pause =
        code === 'rate_limited'
          ? this.#o.rateLimitedDelaysMs[limited++]
          : LOST.has(code) && this.#o.connecting()
            ? Math.min(this.#o.maxLostDelayMs, 500 * 2 ** Math.min(lost++, 20))
            : undefined;
      if (pause === undefined) {
        this.#update(group, txn, { state: 'failed', error: r.error, echoSeq: undefined, waitingOn: undefined });
        return;
      }
      this.#update(group, txn, { waitingOn: r.error });
      await (LOST.has(code) ? this.#wakeableSleep(pause) : this.#o.sleep(pause));
      if (generation !== this.#generation || this.#find(txn) === null) return;
    }
  }

  /** `sleep(ms)`, ended early by `wake()`. */
  async #wakeableSleep(ms: number): Promise<void> {
    let wake = (): void => {};
    const woken = new Promise<void>((r) => (wake = r));
    this.#wakers.add(wake);
    try {
      await Promise.race([this.#o.sleep(ms), woken]);
    } finally {
      this.#wakers.delete(wake);
    }
  }

  #acknowledged(group: GroupId, txn: string, seq: number): void {
    if (this.#o.committed?.(group, seq) === true) {
      this.#remove(group, (e) => e.txn === txn);
    } else {
      // Shown as sent until its event arrives; a guess about an earlier push was wrong if it differs.
      this.#update(group, txn, { state: 'sent', seq, echoSeq: undefined });
    }
  }

  #find(txn: string): Outgoing | null {
    for (const queue of this.#queues.values()) {
      const e = queue.find((x) => x.txn === txn);
      if (e !== undefined) return e;
    }
    return null;
  }

  #update(group: GroupId, txn: string, changes: Partial<Omit<Outgoing, 'txn' | 'group'>>): void {
    const queue = this.#queues.get(group);
    const i = queue?.findIndex((e) => e.txn === txn) ?? -1;
    if (queue === undefined || i < 0) return;
    queue[i] = withoutUndefined({ ...queue[i], ...changes }) as unknown as Outgoing;
    this.#changed(group);
  }

  #remove(group: GroupId, which: (e: Outgoing) => boolean): void {
    const queue = this.#queues.get(group);
    if (queue === undefined) return;
    const kept = queue.filter((e) => !which(e));
    if (kept.length === queue.length) return;
    for (const e of queue) if (which(e)) this.#retriedAt.delete(e.txn);
    if (kept.length === 0) this.#queues.delete(group);
    else this.#queues.set(group, kept);
    this.#changed(group);
  }

  #changed(group: GroupId): void {
    for (const l of [...this.#listeners]) l(group);
  }
}

/** Optional fields set to undefined are left out, so the entries stay plain data. */
function withoutUndefined<T extends object>(value: T): T {
  const out = { ...value } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as T;
}
