import { describe, expect, it } from 'vitest';

import { formatBytes, isAbortError, MediaUploadError, uploadMedia, type XhrLike } from '../media';

const HEX = 'ab'.repeat(32);
const ID = `node.test/${HEX}`;

/** A scripted XMLHttpRequest: records the request, lets the test drive progress and the answer. */
class FakeXhr implements XhrLike {
  status = 0;
  responseText = '';
  upload: { onprogress: ((ev: ProgressEvent) => void) | null } = { onprogress: null };
  onload: ((ev: ProgressEvent) => void) | null = null;
  onerror: ((ev: ProgressEvent) => void) | null = null;
  onabort: ((ev: ProgressEvent) => void) | null = null;
  ontimeout: ((ev: ProgressEvent) => void) | null = null;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: Blob | null = null;
  aborted = false;

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }
  send(body: Blob): void {
    this.body = body;
  }
  abort(): void {
    this.aborted = true;
    this.onabort?.({} as ProgressEvent);
  }
  progress(loaded: number, total: number): void {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent);
  }
  respond(status: number, body: unknown): void {
    this.status = status;
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body);
    this.onload?.({} as ProgressEvent);
  }
}

function start(file: Blob, extra: { name?: string; signal?: AbortSignal; baseUrl?: string; token?: () => string | Promise<string> } = {}) {
  const xhr = new FakeXhr();
  const progress: [number, number][] = [];
  const promise = uploadMedia(file, {
    token: extra.token ?? (() => 'tok-123'),
    xhr: () => xhr,
    onProgress: (sent, total) => progress.push([sent, total]),
    ...(extra.name !== undefined ? { name: extra.name } : {}),
    ...(extra.signal ? { signal: extra.signal } : {}),
    ...(extra.baseUrl !== undefined ? { baseUrl: extra.baseUrl } : {}),
  });
  return { xhr, progress, promise };
}

/** Lets the awaited token resolve so the request is sent. */
const sent = () => new Promise((r) => setTimeout(r, 0));

describe('uploadMedia', () => {
  it('POSTs the raw bytes with the bearer token and the name, reports progress, and parses the answer', async () => {
    const file = new Blob([new Uint8Array(1000)], { type: 'image/png' });
    const { xhr, progress, promise } = start(file, { name: 'holiday photo.png', baseUrl: 'http://127.0.0.1:7800/' });
    await sent();
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe('http://127.0.0.1:7800/api/media?name=holiday%20photo.png');
    expect(xhr.headers.authorization).toBe('Bearer tok-123');
    expect(xhr.body).toBe(file); // not multipart: the Blob itself
    xhr.progress(250, 1000);
    xhr.progress(1000, 1000);
    expect(progress).toEqual([
      [250, 1000],
      [1000, 1000],
    ]);
    xhr.respond(201, { id: ID, kind: 'image', mime: 'image/png', size: 1000, width: 64, height: 32, blurhash: 'LEHV6nWB2yk8' });
    const info = await promise;
    expect(info).toMatchObject({ id: ID, kind: 'image', mime: 'image/png', size: 1000, width: 64, height: 32, blurhash: 'LEHV6nWB2yk8', created: true });
    expect(info.media.node).toBe('node.test');
    expect(info.media.sha256[0]).toBe(0xab);
  });

  it('marks a repeated upload (200) as not created and reads duration_ms', async () => {
    const { xhr, promise } = start(new Blob(['x']));
    await sent();
    expect(xhr.url).toBe('/api/media');
    xhr.respond(200, { id: ID, kind: 'audio', mime: 'audio/ogg', size: 1, duration_ms: 2500 });
    expect(await promise).toMatchObject({ created: false, durationMs: 2500, kind: 'audio' });
  });

  it.each([
    [413, { code: 'too_large', message: 'over 100 MiB' }, 'too_large'],
    [403, { code: 'forbidden', message: 'quota' }, 'quota_exceeded'],
    [422, { code: 'image_too_large', message: 'too many pixels' }, 'image_too_large'],
    [401, { code: 'unauthenticated', message: 'no token' }, 'unauthenticated'],
    [400, { code: 'bad_request', message: 'bad name' }, 'rejected'],
    [500, 'oops', 'server'],
  ] as const)('maps HTTP %i to a typed error', async (status, body, kind) => {
    const { xhr, promise } = start(new Blob(['x'.repeat(2 * 1024 * 1024)]));
    await sent();
    xhr.respond(status, body);
    const e = await promise.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MediaUploadError);
    expect(e).toMatchObject({ kind, status });
    expect(isAbortError(e)).toBe(false);
    if (typeof body === 'object') expect((e as MediaUploadError).code).toBe(body.code);
    if (kind === 'too_large') expect((e as Error).message).toContain('2 MB');
    if (kind === 'rejected') expect((e as Error).message).toBe('bad name');
  });

  it('rejects with an AbortError and aborts the request when the signal fires', async () => {
    const controller = new AbortController();
    const { xhr, progress, promise } = start(new Blob(['abc']), { signal: controller.signal });
    await sent();
    xhr.progress(1, 3);
    controller.abort();
    const e = await promise.catch((x: unknown) => x);
    expect(xhr.aborted).toBe(true);
    expect(isAbortError(e)).toBe(true);
    expect(e).toMatchObject({ kind: 'aborted', name: 'AbortError' });
    // Nothing more is reported after the abort.
    xhr.progress(3, 3);
    expect(progress).toEqual([[1, 3]]);
  });

  it('does not send at all when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { xhr, promise } = start(new Blob(['abc']), { signal: controller.signal });
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
    expect(xhr.method).toBe('');
  });

  it('reports a network failure, and a 2xx that is not a media description', async () => {
    const a = start(new Blob(['a']));
    await sent();
    a.xhr.onerror?.({} as ProgressEvent);
    await expect(a.promise).rejects.toMatchObject({ kind: 'network', status: 0 });

    const b = start(new Blob(['b']));
    await sent();
    b.xhr.respond(201, { id: 'not-a-media-id', kind: 'image', mime: 'image/png', size: 1 });
    await expect(b.promise).rejects.toMatchObject({ kind: 'bad_response' });

    const c = start(new Blob(['c']));
    await sent();
    c.xhr.respond(201, { id: ID, kind: 'voice', mime: 'audio/ogg', size: 1 });
    await expect(c.promise).rejects.toMatchObject({ kind: 'bad_response' });
  });

  it('waits for an async token', async () => {
    const { xhr, promise } = start(new Blob(['a']), { token: () => Promise.resolve('fresh') });
    await sent();
    expect(xhr.headers.authorization).toBe('Bearer fresh');
    xhr.respond(201, { id: ID, kind: 'file', mime: 'application/octet-stream', size: 1 });
    await expect(promise).resolves.toMatchObject({ kind: 'file' });
  });
});

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 KB');
    expect(formatBytes(40 * 1024 * 1024)).toBe('40 MB');
    expect(formatBytes(123_456_789)).toBe('118 MB');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2 GB');
  });
});
