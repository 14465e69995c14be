/**
 * Signed URLs for media, for `<img>`, `<audio>` and `<video>`.
 *
 *   const media = useMediaStore();
 *   media.url(id, thumb?)      Ref<string | null>: `id` is a media id's text form `node/<hex>`,
 *                              `thumb` one of 96/320/1280 (absent: the original bytes). Null
 *                              while loading, and for media I may not see (or that is unknown).
 *                              The same ref for the same (id, thumb), shared by every caller.
 *   media.status(id, thumb?)   Ref<'loading' | 'ready' | 'refused' | 'error'>
 *   media.refresh(id, thumb?)  Promise<string | null>: signs again now (a player whose URL
 *                              expired mid-playback); the ref follows.
 *   media.fresh(id, thumb?)    Promise<string | null>: the cached URL while fresh, else signed
 *                              again (a download link clicked long after it was shown).
 *   media.isFresh(id, thumb?)  boolean
 *
 * Every url() call made in the same tick goes into one `media.urls` request (at most 100 items
 * each; more are split). A URL is kept until 5 minutes before its `expires_at`; a url() call
 * after that signs it again (the ref keeps the old URL meanwhile). A refusal (null) is kept as
 * long; a failed request is tried again by the next url() call 10 s later.
 */
import { defineStore } from 'pinia';
import { shallowRef, watch, type Ref, type ShallowRef } from 'vue';

import { getMediaUrls, MAX_MEDIA_URL_ITEMS, parseMediaId, type CborMap, type CborValue, type GatewayError, type Result } from '@/protocol';
import { useSdk } from '@/services/sdk';
import { useSessionStore } from '@/stores/session';

/** `media.urls` takes at most this many items (MAX_URL_ITEMS). */
export const MAX_URL_ITEMS = MAX_MEDIA_URL_ITEMS;
/** A URL is signed again this long before it expires. */
export const RESIGN_MARGIN_MS = 5 * 60_000;
/** After a failed request, url() asks again no sooner than this. */
export const RETRY_AFTER_ERROR_MS = 10_000;

export type MediaUrlStatus = 'loading' | 'ready' | 'refused' | 'error';

interface Entry {
  readonly id: string;
  readonly thumb: number | undefined;
  readonly url: ShallowRef<string | null>;
  readonly status: ShallowRef<MediaUrlStatus>;
  /** When to ask again (local ms); 0: never asked. */
  renewAt: number;
  /** The request in flight for this entry, if any. */
  pending: Promise<string | null> | null;
}

interface Queued {
  readonly entry: Entry;
  readonly resolve: (url: string | null) => void;
}

/** What the store needs of a gateway. */
export interface MediaUrlTransport {
  request(method: string, params?: CborMap, timeoutMs?: number): Promise<Result<CborValue, GatewayError>>;
}

/** A URL the node returned, as an absolute path (or a full http(s) URL); null when unusable. */
export function absoluteMediaUrl(url: string): string | null {
  if (/^https?:\/\//i.test(url)) return url;
  if (url.startsWith('//')) return null;
  if (url.startsWith('/')) return url;
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return null; // javascript:, data: … never
  return `/${url}`;
}

function keyOf(id: string, thumb: number | undefined): string {
  return thumb === undefined ? id : `${id}#${thumb}`;
}

/** Sends one `media.urls` request; the reply's usable urls (one per item) and expiry, or why not. */
async function requestUrls(
  gateway: MediaUrlTransport,
  items: readonly { id: string; thumb: number | undefined }[],
): Promise<Result<{ urls: (string | null)[]; expiresAt: number }, GatewayError>> {
  const reply = await getMediaUrls(
    gateway,
    items.map((it) => (it.thumb === undefined ? { media: it.id } : { media: it.id, thumb: it.thumb })),
  );
  if (!reply.ok) return reply;
  return { ok: true, value: { urls: reply.value.urls.map((u) => (typeof u === 'string' ? absoluteMediaUrl(u) : null)), expiresAt: reply.value.expiresAt } };
}

export const useMediaStore = defineStore('media', () => {
  const { gateway } = useSdk();
  const session = useSessionStore();

  const entries = new Map<string, Entry>();
  let queue: Queued[] = [];
  let flushScheduled = false;
  /** Bumped when the user changes: replies to an earlier user's requests are dropped. */
  let generation = 0;

  function entryOf(id: string, thumb: number | undefined): Entry {
    const key = keyOf(id, thumb);
    let e = entries.get(key);
    if (!e) {
      e = { id, thumb, url: shallowRef(null), status: shallowRef('loading'), renewAt: 0, pending: null };
      entries.set(key, e);
    }
    return e;
  }

  function enqueue(e: Entry): Promise<string | null> {
    if (e.pending) return e.pending;
    if (!parseMediaId(e.id).ok) {
      e.status.value = 'refused';
      e.url.value = null;
      e.renewAt = Number.POSITIVE_INFINITY;
      return Promise.resolve(null);
    }
    e.pending = new Promise<string | null>((resolve) => queue.push({ entry: e, resolve }));
    if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(flush);
    }
    return e.pending;
  }

  function flush(): void {
    flushScheduled = false;
    const batch = queue;
    queue = [];
    for (let i = 0; i < batch.length; i += MAX_URL_ITEMS) void send(batch.slice(i, i + MAX_URL_ITEMS));
  }

  async function send(batch: Queued[]): Promise<void> {
    const gen = generation;
    const reply = await requestUrls(
      gateway,
      batch.map((q) => ({ id: q.entry.id, thumb: q.entry.thumb })),
    );
    const now = Date.now();
    batch.forEach((q, i) => {
      const e = q.entry;
      e.pending = null;
      if (gen !== generation) {
        q.resolve(null);
        return;
      }
      if (!reply.ok) {
        // Keep a URL we already had (it may still work); ask again soon.
        e.status.value = e.url.value === null ? 'error' : e.status.value;
        e.renewAt = now + RETRY_AFTER_ERROR_MS;
        q.resolve(e.url.value);
        return;
      }
      const url = reply.value.urls[i] ?? null;
      e.url.value = url;
      e.status.value = url === null ? 'refused' : 'ready';
      e.renewAt = reply.value.expiresAt - RESIGN_MARGIN_MS;
      q.resolve(url);
    });
  }

  /** The signed URL of `id` (or of its `thumb`), kept fresh by later calls. */
  function url(id: string, thumb?: number): Ref<string | null> {
    const e = entryOf(id, thumb);
    if (e.pending === null && Date.now() >= e.renewAt) void enqueue(e);
    return e.url;
  }

  /** How the URL of `id` (or of its `thumb`) stands. */
  function status(id: string, thumb?: number): Ref<MediaUrlStatus> {
    const e = entryOf(id, thumb);
    if (e.pending === null && Date.now() >= e.renewAt) void enqueue(e);
    return e.status;
  }

  /** Signs the URL again now (joins a request already in flight); resolves with the new URL. */
  function refresh(id: string, thumb?: number): Promise<string | null> {
    return enqueue(entryOf(id, thumb));
  }

  /** True when the URL of `id` (or of its `thumb`) is known and not due to be signed again. */
  function isFresh(id: string, thumb?: number): boolean {
    const e = entries.get(keyOf(id, thumb));
    return e !== undefined && e.url.value !== null && e.pending === null && Date.now() < e.renewAt;
  }

  /** A URL good for a while yet: the cached one when fresh, else signed again now. */
  function fresh(id: string, thumb?: number): Promise<string | null> {
    if (isFresh(id, thumb)) return Promise.resolve(entryOf(id, thumb).url.value);
    const e = entryOf(id, thumb);
    return e.pending ?? (e.status.value === 'refused' && Date.now() < e.renewAt ? Promise.resolve(null) : enqueue(e));
  }

  /** Forgets every URL (a different user may not see the same media). */
  function reset(): void {
    generation += 1;
    for (const e of entries.values()) {
      e.url.value = null;
      e.status.value = 'loading';
      e.renewAt = 0;
      e.pending = null;
    }
    entries.clear();
    const dropped = queue;
    queue = [];
    for (const q of dropped) q.resolve(null);
  }

  watch(
    () => session.userId,
    (now, before) => {
      if (now !== before) reset();
    },
  );

  return { url, status, refresh, fresh, isFresh, reset };
});
