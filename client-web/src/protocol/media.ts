/**
 * Media upload: `POST /api/media?name=<file name>` (spec/media.md).
 *
 * The body is the raw bytes of the file (not multipart), sent with XMLHttpRequest because
 * `fetch` reports no upload progress. The node sniffs the type from the bytes, stores them
 * content-addressed (the same bytes uploaded twice give the same id, `200` instead of `201`)
 * and answers with what it found: `{id, kind, mime, size, width?, height?, duration_ms?,
 * blurhash?}`.
 *
 * Errors are typed (`MediaUploadError.kind`): 401 `unauthenticated` (refresh the token and try
 * again), 403 `quota_exceeded`, 413 `too_large`, 422 `image_too_large`, no answer `network`, and
 * `aborted` when the caller's `AbortSignal` fires — that error's `name` is `AbortError`, as with
 * `fetch`.
 */
import { parseMediaId, type MediaId } from './ids';

/** What the node stored, as `POST /api/media` describes it. */
export type UploadedKind = 'image' | 'audio' | 'video' | 'file';

export interface MediaInfo {
  /** The text form `node/<64 hex>` (what `media.urls` and the URL store take). */
  readonly id: string;
  /** The parsed id (what `msgs.post` attachments carry). */
  readonly media: MediaId;
  readonly kind: UploadedKind;
  /** The sniffed type (`application/octet-stream` for a file). */
  readonly mime: string;
  readonly size: number;
  readonly width?: number;
  readonly height?: number;
  readonly durationMs?: number;
  readonly blurhash?: string;
  /** True on `201` (new to this user), false on `200` (the same bytes were uploaded before). */
  readonly created: boolean;
}

export type MediaUploadErrorKind =
  /** 401: no or bad token. */
  | 'unauthenticated'
  /** 403: over the user's quota. */
  | 'quota_exceeded'
  /** 413: over the node's size limit. */
  | 'too_large'
  /** 422: an image over the dimension limits (nothing stored). */
  | 'image_too_large'
  /** Another 4xx (a bad name, say). */
  | 'rejected'
  /** A 5xx. */
  | 'server'
  /** The request did not get an answer (offline, connection reset, CORS). */
  | 'network'
  /** A 2xx whose body is not what the spec says. */
  | 'bad_response'
  /** The caller aborted (`name === 'AbortError'`). */
  | 'aborted';

/** Why an upload failed. */
export class MediaUploadError extends Error {
  readonly kind: MediaUploadErrorKind;
  /** The HTTP status; 0 when there was no answer (network, aborted). */
  readonly status: number;
  /** The node's error code (`too_large`, `forbidden`, …) when it sent one. */
  readonly code: string;

  constructor(kind: MediaUploadErrorKind, message: string, status = 0, code = '') {
    super(message);
    this.name = kind === 'aborted' ? 'AbortError' : 'MediaUploadError';
    this.kind = kind;
    this.status = status;
    this.code = code || kind;
  }
}

/** True for the error an aborted upload rejects with. */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** The subset of XMLHttpRequest used here (tests pass a fake). */
export interface XhrLike {
  readonly status: number;
  readonly responseText: string;
  readonly upload: { onprogress: ((ev: ProgressEvent) => void) | null } | null;
  onload: ((ev: ProgressEvent) => void) | null;
  onerror: ((ev: ProgressEvent) => void) | null;
  onabort: ((ev: ProgressEvent) => void) | null;
  ontimeout: ((ev: ProgressEvent) => void) | null;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Blob): void;
  abort(): void;
}

export interface UploadOptions {
  /** Prefix of the API path: '' (same origin, the default) or e.g. `http://127.0.0.1:7800`. */
  readonly baseUrl?: string;
  /** The access token (asked for just before sending). */
  readonly token: () => string | Promise<string>;
  /** The file name to record (default: the File's name, if any). */
  readonly name?: string;
  /** Bytes sent so far and the total, as the browser reports them. */
  readonly onProgress?: (sent: number, total: number) => void;
  readonly signal?: AbortSignal;
  /** The XMLHttpRequest to use (tests pass a fake). */
  readonly xhr?: () => XhrLike;
}

const MESSAGES: Record<Exclude<MediaUploadErrorKind, 'rejected' | 'server'>, string> = {
  unauthenticated: 'You are not signed in (or your session expired).',
  quota_exceeded: 'This upload would go over your storage quota.',
  too_large: 'The file is larger than this node accepts.',
  image_too_large: 'The image is too large (too many pixels).',
  network: 'The upload failed: the node could not be reached.',
  bad_response: 'The node sent an answer this app does not understand.',
  aborted: 'The upload was cancelled.',
};

const KINDS: readonly UploadedKind[] = ['image', 'audio', 'video', 'file'];

/** Uploads `file` and resolves with what the node stored. */
export async function uploadMedia(file: Blob, opts: UploadOptions): Promise<MediaInfo> {
  if (opts.signal?.aborted) throw new MediaUploadError('aborted', MESSAGES.aborted);
  let token: string;
  try {
    token = await opts.token();
  } catch (e) {
    if (e instanceof MediaUploadError) throw e;
    throw new MediaUploadError('unauthenticated', MESSAGES.unauthenticated, 401);
  }
  if (opts.signal?.aborted) throw new MediaUploadError('aborted', MESSAGES.aborted);
  const name = opts.name ?? (typeof File !== 'undefined' && file instanceof File ? file.name : '');
  const base = (opts.baseUrl ?? '').replace(/\/$/, '');
  const url = `${base}/api/media${name ? `?name=${encodeURIComponent(name)}` : ''}`;
  const xhr = opts.xhr ? opts.xhr() : (new XMLHttpRequest() as XhrLike);

  return new Promise<MediaInfo>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      xhr.abort();
      finish(() => reject(new MediaUploadError('aborted', MESSAGES.aborted)));
    };
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      f();
    };
    opts.signal?.addEventListener('abort', onAbort);

    xhr.open('POST', url);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Accept', 'application/json');
    if (xhr.upload && opts.onProgress) {
      const report = opts.onProgress;
      xhr.upload.onprogress = (ev) => {
        if (!settled) report(ev.loaded, ev.lengthComputable ? ev.total : file.size);
      };
    }
    xhr.onload = () => finish(() => settle(xhr, file, resolve, reject));
    xhr.onerror = () => finish(() => reject(new MediaUploadError('network', MESSAGES.network)));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => finish(() => reject(new MediaUploadError('aborted', MESSAGES.aborted)));
    xhr.send(file);
  });
}

function settle(xhr: XhrLike, file: Blob, resolve: (info: MediaInfo) => void, reject: (e: MediaUploadError) => void): void {
  const status = xhr.status;
  let body: unknown = undefined;
  try {
    body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
  } catch {
    body = undefined;
  }
  if (status === 200 || status === 201) {
    const info = parseInfo(body, status === 201);
    if (info === null) reject(new MediaUploadError('bad_response', MESSAGES.bad_response, status));
    else resolve(info);
    return;
  }
  if (status === 0) {
    reject(new MediaUploadError('network', MESSAGES.network));
    return;
  }
  const e = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof e.code === 'string' ? e.code : '';
  const nodeMessage = typeof e.message === 'string' && e.message !== '' ? e.message : '';
  const kind: MediaUploadErrorKind =
    status === 401
      ? 'unauthenticated'
      : status === 403
        ? 'quota_exceeded'
        : status === 413
          ? 'too_large'
          : status === 422
            ? 'image_too_large'
            : status >= 500
              ? 'server'
              : 'rejected';
  const fallback = kind === 'server' || kind === 'rejected' ? `The upload failed (the node answered ${status}).` : MESSAGES[kind];
  // Our own words for the well-known cases (with the size for 413); the node's otherwise.
  const message = kind === 'too_large' ? `${MESSAGES.too_large} (${formatBytes(file.size)})` : kind === 'server' || kind === 'rejected' ? nodeMessage || fallback : fallback;
  reject(new MediaUploadError(kind, message, status, code));
}

function parseInfo(body: unknown, created: boolean): MediaInfo | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.id !== 'string' || typeof b.mime !== 'string' || !isCount(b.size)) return null;
  if (typeof b.kind !== 'string' || !(KINDS as readonly string[]).includes(b.kind)) return null;
  const media = parseMediaId(b.id);
  if (!media.ok) return null;
  return {
    id: b.id,
    media: media.value,
    kind: b.kind as UploadedKind,
    mime: b.mime,
    size: b.size,
    ...(isCount(b.width) ? { width: b.width } : {}),
    ...(isCount(b.height) ? { height: b.height } : {}),
    ...(isCount(b.duration_ms) ? { durationMs: b.duration_ms } : {}),
    ...(typeof b.blurhash === 'string' ? { blurhash: b.blurhash } : {}),
    created,
  };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A human size: `0 B`, `999 B`, `1.5 KB`, `12 KB`, `3.4 MB`, `1.2 GB` (binary multiples). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // One decimal under 10 (1.5 MB), none from 10 up (12 MB); never "1024 KB".
  let text = value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
  if (text === '1024' && unit < units.length - 1) {
    text = '1';
    unit += 1;
  }
  return `${text} ${units[unit]}`;
}

