/**
 * Uploads from the app: the signed-in user's token (refreshed when it is about to expire or the
 * node says 401), and the client-side bits the node relies on (a video's poster frame).
 */
import { MediaUploadError, uploadMedia, type MediaInfo, type UploadOptions } from '@/protocol/media';
import { useSdk } from '@/services/sdk';

/** What the composer shows before the node has sniffed the bytes. */
export type LocalKind = 'image' | 'video' | 'audio' | 'file';

/** A guess from the browser's type (only for previews; the node decides). */
export function guessKind(file: Blob): LocalKind {
  const t = file.type.toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('audio/')) return 'audio';
  return 'file';
}

/** Images a browser shows in an `<img>` (a preview of anything else would be a broken image). */
export function previewable(file: Blob): boolean {
  return /^image\/(jpeg|png|gif|webp|avif|bmp)$/i.test(file.type);
}

/** Refresh the token when it expires within this long (ms). */
const TOKEN_MARGIN_MS = 15_000;

/** The current access token, refreshed first when it is missing or about to expire. */
export async function accessToken(): Promise<string> {
  const { auth } = useSdk();
  const grant = auth.grant;
  if (grant !== null && grant.expiresAt - Date.now() > TOKEN_MARGIN_MS) return grant.accessToken;
  const fresh = await auth.refresh();
  if (!fresh.ok) throw new MediaUploadError('unauthenticated', 'You are not signed in (or your session expired).', 401, 'unauthenticated');
  return fresh.value.accessToken;
}

/**
 * Uploads the app runs at once. The node lets a user have 4 in progress (media.md §3.1) and
 * answers one more with 429; one place is left for the user's other tabs and devices, and the
 * rest wait here (a message may carry 10 attachments).
 */
export const MAX_PARALLEL_UPLOADS = 3;
let running = 0;
const waiting: Array<() => void> = [];

/** Waits for a place among the uploads in progress; resolves with its release. */
function place(signal: AbortSignal | undefined): Promise<() => void> {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    const next = waiting.shift();
    if (next === undefined) running -= 1;
    else next(); // the place passes on: `running` stays the same
  };
  if (running < MAX_PARALLEL_UPLOADS) {
    running += 1;
    return Promise.resolve(release);
  }
  return new Promise((resolve, reject) => {
    const take = (): void => {
      signal?.removeEventListener('abort', cancel);
      resolve(release);
    };
    const cancel = (): void => {
      const i = waiting.indexOf(take);
      if (i >= 0) waiting.splice(i, 1);
      reject(new MediaUploadError('aborted', 'The upload was cancelled.'));
    };
    if (signal?.aborted) return reject(new MediaUploadError('aborted', 'The upload was cancelled.'));
    signal?.addEventListener('abort', cancel, { once: true });
    waiting.push(take);
  });
}

/**
 * `uploadMedia` as the signed-in user, at most {@link MAX_PARALLEL_UPLOADS} at once; a 401
 * refreshes the token and tries once more.
 */
export async function uploadAsMe(file: Blob, opts: Omit<UploadOptions, 'token'>): Promise<MediaInfo> {
  const release = await place(opts.signal);
  try {
    return await uploadOnce(file, opts);
  } finally {
    release();
  }
}

async function uploadOnce(file: Blob, opts: Omit<UploadOptions, 'token'>): Promise<MediaInfo> {
  try {
    return await uploadMedia(file, { ...opts, token: accessToken });
  } catch (e) {
    if (!(e instanceof MediaUploadError) || e.kind !== 'unauthenticated' || opts.signal?.aborted) throw e;
    const fresh = await useSdk().auth.refresh();
    if (!fresh.ok) throw e;
    return uploadMedia(file, { ...opts, token: () => fresh.value.accessToken });
  }
}

/** The longest side of a poster frame, px (the node's largest thumbnail). */
const POSTER_MAX = 1280;

/**
 * A poster frame for a video, taken in the browser: the frame at 0.1 s (or the middle of a
 * shorter clip) drawn on a canvas, as a JPEG. Null when the browser cannot decode the video.
 */
export function extractPoster(file: Blob, timeoutMs = 10_000): Promise<Blob | null> {
  if (typeof document === 'undefined' || typeof URL.createObjectURL !== 'function') return Promise.resolve(null);
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const video = document.createElement('video');
    let done = false;
    const finish = (blob: Blob | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      video.removeAttribute('src');
      video.load();
      URL.revokeObjectURL(url);
      resolve(blob);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    video.muted = true;
    video.playsInline = true;
    video.preload = 'auto';
    video.onerror = () => finish(null);
    video.onloadeddata = () => {
      const d = Number.isFinite(video.duration) ? video.duration : 0;
      const at = d > 0.2 ? 0.1 : d / 2;
      if (Math.abs(video.currentTime - at) < 0.01) draw();
      else video.currentTime = at;
    };
    video.onseeked = () => draw();
    function draw(): void {
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (!w || !h) return finish(null);
      const scale = Math.min(1, POSTER_MAX / Math.max(w, h));
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      const ctx = canvas.getContext('2d');
      if (!ctx) return finish(null);
      try {
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        canvas.toBlob((b) => finish(b), 'image/jpeg', 0.85);
      } catch {
        finish(null);
      }
    }
    video.src = url;
  });
}
