/**
 * Voice-message waveforms: 16–256 bytes, 0 (silent) … 255 (loudest), as `msgs.post` carries
 * them (`AttachmentInput.waveform`). Pure functions, plus one that decodes a recorded blob.
 */

/** The protocol's bounds (protocol/src/media.rs). */
export const MIN_WAVEFORM = 16;
export const MAX_WAVEFORM = 256;
/** How many bars the recorder sends. */
export const WAVEFORM_BARS = 64;

function clampBars(bars: number): number {
  return Math.min(MAX_WAVEFORM, Math.max(MIN_WAVEFORM, Math.round(Number.isFinite(bars) ? bars : WAVEFORM_BARS)));
}

/**
 * Scales non-negative levels so the loudest is 255 (a silent input stays all zeros). A square
 * root curve keeps quiet speech visible next to loud peaks.
 */
function normalise(levels: Float64Array): Uint8Array {
  let max = 0;
  for (const v of levels) if (v > max) max = v;
  const out = new Uint8Array(levels.length);
  if (max < 1e-4) return out;
  for (let i = 0; i < levels.length; i++) out[i] = Math.min(255, Math.round(255 * Math.sqrt((levels[i] ?? 0) / max)));
  return out;
}

/**
 * The waveform of raw samples (−1…1): the RMS of each of `bars` equal slices, normalised.
 * Slices past the end of a short input are silent.
 */
export function waveformFromSamples(samples: Float32Array, bars = WAVEFORM_BARS): Uint8Array {
  const n = clampBars(bars);
  const levels = new Float64Array(n);
  const len = samples.length;
  if (len === 0) return new Uint8Array(n);
  for (let b = 0; b < n; b++) {
    const start = Math.floor((b * len) / n);
    const end = Math.max(start + 1, Math.floor(((b + 1) * len) / n));
    if (start >= len) break;
    let sum = 0;
    let count = 0;
    for (let i = start; i < end && i < len; i++) {
      const s = samples[i] ?? 0;
      sum += s * s;
      count++;
    }
    levels[b] = count > 0 ? Math.sqrt(sum / count) : 0;
  }
  return normalise(levels);
}

/**
 * The waveform of levels sampled over time (each ≥ 0, e.g. the RMS an AnalyserNode gave every
 * 50 ms): averaged into `bars` equal slices (repeated when there are fewer levels than bars).
 */
export function waveformFromLevels(levels: readonly number[], bars = WAVEFORM_BARS): Uint8Array {
  const n = clampBars(bars);
  const len = levels.length;
  const out = new Float64Array(n);
  if (len === 0) return new Uint8Array(n);
  for (let b = 0; b < n; b++) {
    const start = (b * len) / n;
    const end = ((b + 1) * len) / n;
    let sum = 0;
    let count = 0;
    for (let i = Math.floor(start); i < Math.max(Math.floor(start) + 1, Math.ceil(end)) && i < len; i++) {
      sum += Math.max(0, levels[i] ?? 0);
      count++;
    }
    out[b] = count > 0 ? sum / count : 0;
  }
  return normalise(out);
}

/** The RMS (0…1) of one frame of time-domain samples. */
export function rms(frame: Float32Array): number {
  if (frame.length === 0) return 0;
  let sum = 0;
  for (const s of frame) sum += s * s;
  return Math.sqrt(sum / frame.length);
}

/** True when a waveform says something (some bar above silence). */
export function hasSignal(waveform: Uint8Array): boolean {
  return waveform.some((v) => v > 0);
}

/** What `decodeAudioData` gives back (the part used here). */
interface DecodedAudio {
  readonly duration: number;
  readonly numberOfChannels: number;
  getChannelData(channel: number): Float32Array;
}

/**
 * Decodes a recorded blob and returns its waveform and duration, or null when the browser cannot
 * decode it (no Web Audio, an unsupported codec).
 */
export async function analyseBlob(blob: Blob, bars = WAVEFORM_BARS): Promise<{ waveform: Uint8Array; durationMs: number } | null> {
  const g = globalThis as unknown as { AudioContext?: new () => Decoder; webkitAudioContext?: new () => Decoder };
  const Ctx = g.AudioContext ?? g.webkitAudioContext;
  if (Ctx === undefined) return null;
  let ctx: Decoder | null = null;
  try {
    ctx = new Ctx();
    const audio = await ctx.decodeAudioData(await blob.arrayBuffer());
    let samples = audio.getChannelData(0);
    if (audio.numberOfChannels > 1) {
      const mixed = new Float32Array(samples.length);
      for (let c = 0; c < audio.numberOfChannels; c++) {
        const data = audio.getChannelData(c);
        for (let i = 0; i < mixed.length; i++) mixed[i] = (mixed[i] ?? 0) + (data[i] ?? 0) / audio.numberOfChannels;
      }
      samples = mixed;
    }
    return { waveform: waveformFromSamples(samples, bars), durationMs: Math.round(audio.duration * 1000) };
  } catch {
    return null;
  } finally {
    void ctx?.close?.().catch(() => {});
  }
}

/** The part of an AudioContext used to decode. */
interface Decoder {
  decodeAudioData(bytes: ArrayBuffer): Promise<DecodedAudio>;
  close?(): Promise<void>;
}
