/**
 * Words and numbers for the media components: sizes, times, playback speeds, file types,
 * download links, waveform bars. Pure functions (unit-tested).
 */

// One size formatter for the whole app (the upload tray, file cards, players, errors).
export { formatBytes } from '@/protocol/media';

/** A playback time in seconds as `m:ss`, or `h:mm:ss` from an hour; unknown (NaN, ∞) is `0:00`. */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '0:00';
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Spoken form of a time for screen readers: "1 minute 5 seconds". */
export function spokenTime(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const part = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const parts = [h > 0 ? part(h, 'hour') : '', m > 0 ? part(m, 'minute') : '', s > 0 || total === 0 ? part(s, 'second') : ''];
  return parts.filter(Boolean).join(' ');
}

/** The playback speeds the players cycle through. */
export const SPEEDS = [1, 1.5, 2] as const;
export type Speed = (typeof SPEEDS)[number];

/** The speed after `current` (1× → 1.5× → 2× → 1×); an unknown speed goes back to 1×. */
export function nextSpeed(current: number): Speed {
  const i = SPEEDS.indexOf(current as Speed);
  return SPEEDS[(i + 1) % SPEEDS.length] ?? 1;
}

/** `1×`, `1.5×`, `2×`. */
export function speedLabel(speed: number): string {
  return `${speed}×`;
}

export type FileType = 'pdf' | 'archive' | 'document' | 'spreadsheet' | 'presentation' | 'text' | 'code' | 'image' | 'audio' | 'video' | 'file';

const BY_EXTENSION: Record<string, FileType> = {
  pdf: 'pdf',
  zip: 'archive', rar: 'archive', '7z': 'archive', tar: 'archive', gz: 'archive', tgz: 'archive', bz2: 'archive', xz: 'archive', zst: 'archive',
  doc: 'document', docx: 'document', odt: 'document', rtf: 'document', pages: 'document',
  xls: 'spreadsheet', xlsx: 'spreadsheet', ods: 'spreadsheet', csv: 'spreadsheet', tsv: 'spreadsheet', numbers: 'spreadsheet',
  ppt: 'presentation', pptx: 'presentation', odp: 'presentation', key: 'presentation',
  txt: 'text', md: 'text', log: 'text',
  js: 'code', ts: 'code', json: 'code', html: 'code', htm: 'code', css: 'code', rs: 'code', py: 'code', go: 'code', c: 'code', h: 'code', cpp: 'code',
  java: 'code', kt: 'code', sh: 'code', xml: 'code', yaml: 'code', yml: 'code', toml: 'code', svg: 'code', sql: 'code',
  jpg: 'image', jpeg: 'image', png: 'image', gif: 'image', webp: 'image', bmp: 'image', tif: 'image', tiff: 'image', heic: 'image', avif: 'image',
  mp3: 'audio', ogg: 'audio', opus: 'audio', m4a: 'audio', wav: 'audio', flac: 'audio', aac: 'audio',
  mp4: 'video', webm: 'video', mkv: 'video', mov: 'video', avi: 'video',
};

/**
 * What kind of file to draw an icon for, from its name's extension, else its mime type. Files
 * are served as `application/octet-stream`, so the name usually decides.
 */
export function fileType(mime: string, name?: string): FileType {
  const dot = name?.lastIndexOf('.') ?? -1;
  if (name && dot > 0 && dot < name.length - 1) {
    const byExt = BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
    if (byExt) return byExt;
  }
  const m = mime.toLowerCase();
  if (m === 'application/pdf') return 'pdf';
  if (m.startsWith('image/')) return 'image';
  if (m.startsWith('audio/')) return 'audio';
  if (m.startsWith('video/')) return 'video';
  if (m.startsWith('text/')) return 'text';
  if (/zip|tar|compressed|gzip|rar|7z/.test(m)) return 'archive';
  return 'file';
}

/** A short upper-case label for a file's type shown on its icon: the extension, else the kind. */
export function fileBadge(mime: string, name?: string): string {
  const dot = name?.lastIndexOf('.') ?? -1;
  if (name && dot > 0 && dot < name.length - 1) {
    const ext = name.slice(dot + 1);
    if (ext.length <= 4) return ext.toUpperCase();
  }
  const t = fileType(mime, name);
  return t === 'file' ? 'FILE' : t.slice(0, 4).toUpperCase();
}

const EXT_BY_MIME: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif',
  'audio/ogg': 'ogg', 'audio/opus': 'opus', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/webm': 'webm', 'audio/wav': 'wav', 'audio/x-wav': 'wav',
  'video/mp4': 'mp4', 'video/webm': 'webm',
};

/**
 * A file name the node accepts in `name=` (no `/`, `\`, `..` or control characters, ≤ 255
 * characters); empty when nothing usable is left.
 */
export function safeFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, '_');
  while (s.includes('..')) s = s.replace(/\.\.+/g, '.');
  s = s.trim();
  return Array.from(s).slice(0, 255).join('');
}

/** The name to save a download as: the sender's name, else `<kind>.<ext from mime>`. */
export function downloadName(mime: string, kind: string, name?: string): string {
  const given = name ? safeFileName(name) : '';
  if (given && given !== '.') return given;
  const ext = EXT_BY_MIME[mime.toLowerCase()];
  const base = kind === 'voice' ? 'voice-message' : kind === 'file' ? 'file' : kind;
  return ext ? `${base}.${ext}` : base;
}

/** A signed media URL turned into a download link: `dl=1` and `name=` (neither is signed). */
export function downloadUrl(url: string, name: string): string {
  const safe = safeFileName(name);
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}dl=1${safe ? `&name=${encodeURIComponent(safe)}` : ''}`;
}

/**
 * A voice message's waveform (bytes 0–255) resampled to `bars` heights in 0–1: each bar is the
 * loudest sample of its slice, so short peaks stay visible. Empty input gives flat bars.
 */
export function waveformBars(samples: Uint8Array | readonly number[] | undefined, bars: number): number[] {
  const n = Math.max(1, Math.floor(bars));
  const src = samples ? Array.from(samples) : [];
  if (src.length === 0) return new Array<number>(n).fill(0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * src.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * src.length) / n));
    let peak = 0;
    for (let k = from; k < to && k < src.length; k++) peak = Math.max(peak, src[k] ?? 0);
    out.push(Math.min(255, Math.max(0, peak)) / 255);
  }
  return out;
}

/** `value` kept within [min, max]. */
export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * A few words for a message's attachments, for previews and reply quotes: "Photo", "3 photos",
 * "Video", "Voice message", the file's name, "2 files", "4 attachments"…
 */
export function attachmentSummary(list: readonly { readonly kind: string; readonly name?: string }[]): string {
  const n = list.length;
  if (n === 0) return '';
  const kinds = new Set(list.map((a) => a.kind));
  const only = kinds.size === 1 ? list[0]?.kind : undefined;
  switch (only) {
    case 'image':
      return n === 1 ? 'Photo' : `${n} photos`;
    case 'video':
      return n === 1 ? 'Video' : `${n} videos`;
    case 'voice':
      return n === 1 ? 'Voice message' : `${n} voice messages`;
    case 'audio':
      return n === 1 ? (list[0]?.name ?? 'Audio') : `${n} audio files`;
    case 'file':
      return n === 1 ? (list[0]?.name ?? 'File') : `${n} files`;
  }
  if ([...kinds].every((k) => k === 'image' || k === 'video')) return `${n} photos and videos`;
  return `${n} attachments`;
}
