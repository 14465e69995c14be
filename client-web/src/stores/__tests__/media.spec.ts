import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, err, formatMediaId, ok, type CborMap, type CborValue, type Gateway, type Result } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { absoluteMediaUrl, RESIGN_MARGIN_MS, RETRY_AFTER_ERROR_MS, useMediaStore } from '@/stores/media';
import { useSessionStore } from '@/stores/session';

type Reply = Result<CborValue, { code: string; message: string }>;

const NODE = 'node.test';
const id = (n: number): string => `${NODE}/${n.toString(16).padStart(64, '0')}`;
const hexOf = (item: CborMap): string => formatMediaId(item.media as never).split('/')[1] ?? '';

/** A gateway that answers media.urls like the node: a path per item (null for refused hashes). */
class FakeGateway {
  state = 'connected';
  readonly calls: CborMap[][] = [];
  refused = new Set<string>();
  expiresAt = 0;
  version = 1;
  fail = false;
  /** Resolves the pending replies when set (to hold replies in flight). */
  hold: Promise<void> | null = null;

  async request(method: string, params: CborMap = {}): Promise<Reply> {
    if (method !== 'media.urls') return ok({});
    const items = params.items as CborMap[];
    this.calls.push(items);
    if (this.hold) await this.hold;
    if (this.fail) return err({ code: 'unavailable', message: 'down' });
    const urls = items.map((it) => {
      const hex = hexOf(it);
      if (this.refused.has(hex)) return null;
      const thumb = it.thumb === undefined ? '' : `/thumb/${String(it.thumb)}`;
      return `/api/media/${hex}${thumb}?exp=${this.expiresAt}&sig=v${this.version}`;
    });
    return ok({ urls, expires_at: this.expiresAt });
  }

  on(): () => void {
    return () => {};
  }
  start(): void {}
  stop(): void {}
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
};

let gw: FakeGateway;
const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  gw = new FakeGateway();
  gw.expiresAt = T0 + HOUR;
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  setActivePinia(createPinia());
  useSessionStore().userId = '@me:node.test';
});

afterEach(() => {
  vi.useRealTimers();
  provideSdk(null);
});

describe('media store', () => {
  it('batches the calls of one tick into one media.urls request, one item per distinct (id, thumb)', async () => {
    const media = useMediaStore();
    const a = media.url(id(1));
    const aThumb = media.url(id(1), 320);
    const b = media.url(id(2));
    const again = media.url(id(1));
    expect(again).toBe(a); // one shared ref per (id, thumb)
    expect(a.value).toBeNull();
    expect(gw.calls).toHaveLength(0); // not before the tick ends
    await flush();
    expect(gw.calls).toHaveLength(1);
    expect(gw.calls[0]).toHaveLength(3);
    expect(gw.calls[0]?.map((it) => it.thumb ?? null)).toEqual([null, 320, null]);
    expect(a.value).toBe(`/api/media/${'0'.repeat(63)}1?exp=${T0 + HOUR}&sig=v1`);
    expect(aThumb.value).toContain('/thumb/320?');
    expect(b.value).toContain(`${'0'.repeat(63)}2?`);
    expect(media.status(id(1)).value).toBe('ready');
  });

  it('splits more than 100 items into several requests', async () => {
    const media = useMediaStore();
    const refs = Array.from({ length: 230 }, (_, i) => media.url(id(i + 1)));
    await flush();
    expect(gw.calls.map((c) => c.length)).toEqual([100, 100, 30]);
    expect(refs.every((r) => r.value !== null)).toBe(true);
    expect(refs[229]?.value).toContain((230).toString(16));
  });

  it('keeps a URL until 5 minutes before it expires, then signs it again (keeping the old one meanwhile)', async () => {
    const media = useMediaStore();
    const a = media.url(id(1));
    await flush();
    const first = a.value;
    expect(first).toContain('sig=v1');

    vi.setSystemTime(T0 + HOUR - RESIGN_MARGIN_MS - 1);
    expect(media.url(id(1)).value).toBe(first);
    await flush();
    expect(gw.calls).toHaveLength(1); // still cached

    gw.version = 2;
    gw.expiresAt = T0 + 2 * HOUR;
    vi.setSystemTime(T0 + HOUR - RESIGN_MARGIN_MS);
    const r = media.url(id(1));
    expect(r.value).toBe(first); // the old URL still works for 5 minutes
    await flush();
    expect(gw.calls).toHaveLength(2);
    expect(r.value).toContain('sig=v2');
    expect(media.isFresh(id(1))).toBe(true);
  });

  it('gives null for media the node refuses, keeps the refusal, and never asks about a bad id', async () => {
    const media = useMediaStore();
    gw.refused.add('0'.repeat(63) + '2');
    const ok1 = media.url(id(1));
    const refused = media.url(id(2));
    const bad = media.url('not-a-media-id');
    expect(media.status('not-a-media-id').value).toBe('refused');
    await flush();
    expect(gw.calls).toHaveLength(1);
    expect(gw.calls[0]).toHaveLength(2);
    expect(ok1.value).not.toBeNull();
    expect(refused.value).toBeNull();
    expect(bad.value).toBeNull();
    expect(media.status(id(2)).value).toBe('refused');
    media.url(id(2));
    await flush();
    expect(gw.calls).toHaveLength(1); // the refusal is cached too
    expect(await media.fresh(id(2))).toBeNull();
    expect(gw.calls).toHaveLength(1);
  });

  it('after a failed request, asks again only after a pause', async () => {
    const media = useMediaStore();
    gw.fail = true;
    const a = media.url(id(1));
    await flush();
    expect(a.value).toBeNull();
    expect(media.status(id(1)).value).toBe('error');
    media.url(id(1));
    await flush();
    expect(gw.calls).toHaveLength(1);
    gw.fail = false;
    vi.setSystemTime(T0 + RETRY_AFTER_ERROR_MS);
    media.url(id(1));
    await flush();
    expect(gw.calls).toHaveLength(2);
    expect(a.value).not.toBeNull();
  });

  it('refresh() signs again at once, joins a request in flight, and resolves with the new URL', async () => {
    const media = useMediaStore();
    const a = media.url(id(1), 1280);
    await flush();
    expect(a.value).toContain('sig=v1');
    gw.version = 2;
    let release = (): void => {};
    gw.hold = new Promise((r) => (release = r));
    const p1 = media.refresh(id(1), 1280);
    const p2 = media.refresh(id(1), 1280);
    await flush();
    expect(gw.calls).toHaveLength(2); // the second refresh joined the first
    release();
    expect(await p1).toContain('sig=v2');
    expect(await p2).toBe(await p1);
    expect(a.value).toContain('sig=v2');
  });

  it('fresh() returns a fresh cached URL without asking, else signs again', async () => {
    const media = useMediaStore();
    media.url(id(1));
    await flush();
    expect(await media.fresh(id(1))).toContain('sig=v1');
    expect(gw.calls).toHaveLength(1);
    gw.version = 2;
    vi.setSystemTime(T0 + HOUR);
    expect(media.isFresh(id(1))).toBe(false);
    expect(await media.fresh(id(1))).toContain('sig=v2');
    expect(gw.calls).toHaveLength(2);
  });

  it('forgets every URL when the user changes, and drops replies meant for the earlier user', async () => {
    const media = useMediaStore();
    let release = (): void => {};
    gw.hold = new Promise((r) => (release = r));
    const a = media.url(id(1));
    await flush();
    useSessionStore().userId = '@other:node.test';
    await flush();
    release();
    await flush();
    expect(a.value).toBeNull();
    gw.hold = null;
    const b = media.url(id(1));
    expect(b).not.toBe(a);
    await flush();
    expect(b.value).not.toBeNull();
    expect(gw.calls).toHaveLength(2);
  });

  it('makes every URL an absolute path and refuses other schemes', () => {
    expect(absoluteMediaUrl('/api/media/ab?exp=1&sig=x')).toBe('/api/media/ab?exp=1&sig=x');
    expect(absoluteMediaUrl('api/media/ab')).toBe('/api/media/ab');
    expect(absoluteMediaUrl('https://node.test/api/media/ab')).toBe('https://node.test/api/media/ab');
    expect(absoluteMediaUrl('javascript:alert(1)')).toBeNull();
    expect(absoluteMediaUrl('data:text/html,x')).toBeNull();
    expect(absoluteMediaUrl('//evil.test/x')).toBeNull();
  });
});
