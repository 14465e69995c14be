import { describe, expect, it, vi } from 'vitest';

import type * as Media from '@/protocol/media';
import { isAbortError, type MediaInfo } from '@/protocol/media';

import { MAX_PARALLEL_UPLOADS, uploadAsMe } from '../upload';

interface Pending {
  readonly file: Blob;
  resolve(info: MediaInfo): void;
}
const started: Pending[] = [];

vi.mock('@/protocol/media', async (importOriginal) => {
  const real = await importOriginal<typeof Media>();
  return {
    ...real,
    uploadMedia: (file: Blob) =>
      new Promise<MediaInfo>((resolve) => {
        started.push({ file, resolve });
      }),
  };
});

vi.mock('@/services/sdk', () => ({
  useSdk: () => ({ auth: { grant: { accessToken: 'token', expiresAt: Date.now() + 3_600_000 } } }),
}));

const settle = () => new Promise((r) => setTimeout(r, 0));
const done = (n: number) => ({ id: `node.test/${n}` }) as unknown as MediaInfo;

describe('uploadAsMe', () => {
  it('runs at most the node allows minus one at once; the others wait, and can be cancelled', async () => {
    expect(MAX_PARALLEL_UPLOADS).toBe(3);
    const files = Array.from({ length: 6 }, (_, i) => new Blob([String(i)]));
    const cancel = new AbortController();
    const results = files.map((file, i) => uploadAsMe(file, i === 4 ? { signal: cancel.signal } : {}));
    const outcomes = results.map((p) => p.then((v) => v, (e: unknown) => e));
    await settle();
    expect(started.map((s) => s.file)).toEqual(files.slice(0, 3));

    // A waiting upload cancelled never starts.
    cancel.abort();
    expect(isAbortError(await outcomes[4])).toBe(true);

    // Each finished upload lets the next waiting one start, in order.
    started[0]?.resolve(done(0));
    await settle();
    expect(started.map((s) => s.file)).toEqual([...files.slice(0, 4)]);
    started[1]?.resolve(done(1));
    await settle();
    expect(started.map((s) => s.file)).toEqual([...files.slice(0, 4), files[5]]);
    for (const s of started.slice(2)) s.resolve(done(9));
    expect(await outcomes[0]).toEqual(done(0));
    expect(await outcomes[5]).toEqual(done(9));

    // Every place is free again.
    started.length = 0;
    const again = Array.from({ length: 3 }, () => uploadAsMe(new Blob(['x']), {}));
    await settle();
    expect(started).toHaveLength(3);
    for (const s of started) s.resolve(done(1));
    await Promise.all(again);
  });
});
