/**
 * The composer's uploads: each file starts uploading as soon as it is added, with its progress,
 * and can be cancelled (the request is aborted and the row removed), retried after a failure, or
 * removed. A video also gets a poster frame, taken in the browser and uploaded beside it.
 */
import { computed, onScopeDispose, ref, type Ref } from 'vue';

import { MAX_ATTACHMENTS, MAX_FILE_NAME_CHARS, type AttachmentInput } from '@/protocol';
import { withoutRefusedChars } from '@/protocol/text';
import { isAbortError, MediaUploadError, type MediaInfo, type UploadOptions } from '@/protocol/media';

import { extractPoster, guessKind, previewable, uploadAsMe, type LocalKind } from './upload';

export type UploadStatus = 'uploading' | 'done' | 'error';

/** What a voice message adds to its attachment. */
export interface VoiceMeta {
  readonly waveform: Uint8Array;
  readonly durationMs: number;
}

export interface UploadItem {
  readonly key: string;
  readonly file: Blob;
  /** The name shown and sent ('' for a voice message). */
  readonly name: string;
  readonly size: number;
  readonly kind: LocalKind;
  readonly voice: VoiceMeta | null;
  /** An object URL to show: the image itself, or a video's poster frame. */
  preview: string | null;
  status: UploadStatus;
  /** Bytes sent and the total, for the progress bar. */
  sent: number;
  total: number;
  error: string | null;
  /** What the node stored, once uploaded. */
  info: MediaInfo | null;
  /** A video's uploaded poster frame. */
  poster: MediaInfo | null;
}

export type Uploader = (file: Blob, opts: Omit<UploadOptions, 'token'>) => Promise<MediaInfo>;

export interface UploadQueueOptions {
  /** Default: `uploadAsMe` (the signed-in user's token). */
  readonly upload?: Uploader;
  /** Default: `extractPoster` (a frame of the video, drawn on a canvas). */
  readonly poster?: (file: Blob) => Promise<Blob | null>;
  /** Called when an item finished uploading (voice messages are posted from here). */
  readonly onDone?: (item: UploadItem) => void;
  readonly max?: number;
}

/**
 * A file name the node accepts: no control, invisible or direction-changing characters
 * (protocol.md §2.1), slashes or `..`, at most 255 characters.
 */
export function cleanName(name: string): string {
  let n = withoutRefusedChars(name).replace(/[/\\]/g, '_').replace(/\.{2,}/g, '.').trim();
  const chars = Array.from(n);
  if (chars.length > MAX_FILE_NAME_CHARS) {
    const dot = n.lastIndexOf('.');
    const ext = dot > 0 ? Array.from(n.slice(dot)) : [];
    const keep = ext.length > 0 && ext.length <= 16 ? ext : [];
    n = chars.slice(0, MAX_FILE_NAME_CHARS - keep.length).join('') + keep.join('');
  }
  return n;
}

let counter = 0;

export function useUploadQueue(options: UploadQueueOptions = {}) {
  const upload = options.upload ?? uploadAsMe;
  const posterOf = options.poster ?? extractPoster;
  const max = options.max ?? MAX_ATTACHMENTS;
  const items = ref<UploadItem[]>([]) as Ref<UploadItem[]>;
  const controllers = new Map<string, AbortController>();

  const uploading = computed(() => items.value.some((i) => i.status === 'uploading'));
  const failed = computed(() => items.value.some((i) => i.status === 'error'));
  /** Items going into the next message (voice messages are posted on their own). */
  const attachable = computed(() => items.value.filter((i) => i.voice === null));
  const ready = computed(() => attachable.value.length > 0 && attachable.value.every((i) => i.status === 'done'));

  function find(key: string): UploadItem | undefined {
    return items.value.find((i) => i.key === key);
  }

  /**
   * Adds files and starts uploading them; returns how many were left out because a message holds
   * at most `max` attachments.
   */
  function add(files: readonly Blob[], voice: VoiceMeta | null = null): number {
    const room = voice ? files.length : Math.max(0, max - attachable.value.length);
    const taken = files.slice(0, room);
    for (const file of taken) {
      const name = voice ? '' : cleanName(typeof File !== 'undefined' && file instanceof File ? file.name : '');
      const kind = voice ? 'audio' : guessKind(file);
      const item: UploadItem = {
        key: `up${++counter}`,
        file,
        name,
        size: file.size,
        kind,
        voice,
        preview: kind === 'image' && previewable(file) && typeof URL.createObjectURL === 'function' ? URL.createObjectURL(file) : null,
        status: 'uploading',
        sent: 0,
        total: file.size,
        error: null,
        info: null,
        poster: null,
      };
      items.value.push(item);
      void run(item.key);
    }
    return files.length - taken.length;
  }

  async function run(key: string): Promise<void> {
    const item = find(key);
    if (item === undefined) return;
    controllers.get(key)?.abort();
    const controller = new AbortController();
    controllers.set(key, controller);
    item.status = 'uploading';
    item.error = null;
    item.sent = 0;
    const signal = controller.signal;
    // A video's poster is taken while its bytes upload.
    const posterBlob = item.kind === 'video' && item.poster === null ? posterOf(item.file).catch(() => null) : Promise.resolve(null);
    try {
      const info =
        item.info ??
        (await upload(item.file, {
          ...(item.name ? { name: item.name } : {}),
          signal,
          onProgress: (sent, total) => {
            const cur = find(key);
            if (cur === undefined) return;
            cur.sent = sent;
            cur.total = total || cur.size;
          },
        }));
      let cur = find(key);
      if (cur === undefined || signal.aborted) return;
      cur.info = info;
      cur.sent = cur.total;
      if (info.kind === 'video' && cur.poster === null) {
        const blob = await posterBlob;
        cur = find(key);
        if (cur === undefined || signal.aborted) return;
        if (blob !== null) {
          if (cur.preview === null && typeof URL.createObjectURL === 'function') cur.preview = URL.createObjectURL(blob);
          // A poster that fails to upload is left out: the video still goes.
          const poster = await upload(blob, { name: 'poster.jpg', signal }).catch(() => null);
          cur = find(key);
          if (cur === undefined || signal.aborted) return;
          if (poster !== null && poster.kind === 'image') cur.poster = poster;
        }
      }
      cur.status = 'done';
      controllers.delete(key);
      options.onDone?.(cur);
    } catch (e) {
      const cur = find(key);
      if (cur === undefined || isAbortError(e)) return;
      cur.status = 'error';
      cur.error = e instanceof MediaUploadError || e instanceof Error ? e.message : 'The upload failed.';
      controllers.delete(key);
    }
  }

  /** Marks an uploaded item as failed (its message could not be posted); `retry` posts again. */
  function fail(key: string, message: string): void {
    const cur = find(key);
    if (cur === undefined) return;
    cur.status = 'error';
    cur.error = message;
  }

  /** Uploads a failed item again (or, when it was uploaded, only reports it done again). */
  function retry(key: string): void {
    const item = find(key);
    if (item !== undefined && item.status === 'error') void run(key);
  }

  /** Aborts the item's upload (if running) and removes it. */
  function remove(key: string): void {
    controllers.get(key)?.abort();
    controllers.delete(key);
    const item = find(key);
    if (item === undefined) return;
    revoke(item);
    items.value = items.value.filter((i) => i.key !== key);
  }

  /** Removes items that were sent (nothing to abort). */
  function take(keys: readonly string[]): void {
    for (const key of keys) remove(key);
  }

  function clear(): void {
    for (const item of [...items.value]) remove(item.key);
  }

  function revoke(item: UploadItem): void {
    if (item.preview !== null && typeof URL.revokeObjectURL === 'function') URL.revokeObjectURL(item.preview);
  }

  /** The attachments of the next message, in the order added (only when all are uploaded). */
  function attachments(): { keys: string[]; inputs: AttachmentInput[] } {
    const done = attachable.value.filter((i) => i.status === 'done' && i.info !== null);
    return {
      keys: done.map((i) => i.key),
      inputs: done.map((i) => toInput(i)),
    };
  }

  onScopeDispose(clear);

  return { items, uploading, failed, ready, attachable, add, retry, remove, take, clear, attachments, fail };
}

/** The `msgs.post` attachment of an uploaded item. */
export function toInput(item: UploadItem): AttachmentInput {
  const info = item.info;
  if (info === null) throw new Error('not uploaded');
  return {
    media: info.id,
    ...(item.name ? { name: item.name } : {}),
    ...(item.voice ? { voice: true, waveform: item.voice.waveform, durationMs: item.voice.durationMs } : {}),
    ...(item.poster !== null ? { poster: item.poster.id } : {}),
  };
}
