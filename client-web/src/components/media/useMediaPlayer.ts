/**
 * The state and actions shared by the app's audio, voice and video players, over one
 * `<audio>`/`<video>` element the component renders (`preload="metadata"`, `:src="src"`).
 *
 * - The source is the media store's signed URL; while it is still being signed a play request
 *   waits for it. When the node gives none (`unavailable`: media I may not see, or another
 *   node's media that could not be fetched), the player says so and plays nothing.
 * - Starting claims playback (one player plays at a time).
 * - Duration: the element's once known; before that (and for recorder WebM files that state
 *   none) the attachment's `duration_ms`.
 * - An `error` (typically the signed URL expired mid-playback or before the first play) signs the
 *   URL again, and once the new source has its metadata, restores the position and resumes if it
 *   was playing. When signing gives nothing new, the player shows it failed.
 */
import { computed, onBeforeUnmount, onMounted, ref, watch, type Ref } from 'vue';

import { useMediaStore } from '@/stores/media';

import { clamp, nextSpeed } from './format';
import { claimPlayback, releasePlayback } from './playback';

export interface MediaPlayerOptions {
  /** The element, once mounted. */
  readonly el: Ref<HTMLMediaElement | null>;
  /** The media id (text form). */
  readonly id: () => string;
  /** The attachment's duration, when it states one (ms). */
  readonly durationMs?: () => number | undefined;
}

/** How far one arrow key seeks (seconds). */
export const SEEK_STEP = 5;
/** How much one arrow key changes the volume. */
export const VOLUME_STEP = 0.1;
/** Signing again after errors stops after this many tries without a successful load. */
const MAX_RECOVERIES = 2;

export function useMediaPlayer(options: MediaPlayerOptions) {
  const media = useMediaStore();
  const src = computed(() => media.url(options.id()).value);
  /** The node gave no URL for it (media.urls answered null): nothing to play. */
  const unavailable = computed(() => media.status(options.id()).value === 'refused');

  const playing = ref(false);
  const current = ref(0);
  const elementDuration = ref<number | null>(null);
  const rate = ref(1);
  const volume = ref(1);
  const muted = ref(false);
  const waiting = ref(false);
  const failed = ref(false);
  /** A play() asked for before the source was known. */
  let wantPlay = false;
  /** Where to go back to after the source was signed again. */
  let resume: { at: number; play: boolean } | null = null;
  let recoveries = 0;

  const duration = computed(() => {
    const d = elementDuration.value;
    if (d !== null && Number.isFinite(d) && d > 0) return d;
    const ms = options.durationMs?.();
    return ms !== undefined && ms > 0 ? ms / 1000 : 0;
  });
  const progress = computed(() => (duration.value > 0 ? clamp(current.value / duration.value, 0, 1) : 0));

  async function play(): Promise<void> {
    const el = options.el.value;
    failed.value = false;
    if (unavailable.value) {
      wantPlay = false;
      return;
    }
    if (!el || !src.value) {
      wantPlay = true;
      return;
    }
    claimPlayback(el);
    try {
      await el.play();
    } catch {
      // Interrupted by a pause or a new source (AbortError), or refused: the events tell.
    }
  }

  function pause(): void {
    wantPlay = false;
    options.el.value?.pause();
  }

  function toggle(): void {
    if (playing.value || wantPlay) pause();
    else void play();
  }

  function seek(seconds: number): void {
    const el = options.el.value;
    const max = duration.value > 0 ? duration.value : Number.isFinite(el?.duration) ? (el?.duration ?? 0) : 0;
    const t = clamp(seconds, 0, max > 0 ? max : Math.max(0, seconds));
    current.value = t;
    if (el) el.currentTime = t;
  }

  function seekBy(delta: number): void {
    seek(current.value + delta);
  }

  /** Seeks to a fraction (0–1) of the duration. */
  function seekFraction(f: number): void {
    if (duration.value > 0) seek(clamp(f, 0, 1) * duration.value);
  }

  function cycleSpeed(): void {
    rate.value = nextSpeed(rate.value);
    const el = options.el.value;
    if (el) {
      el.defaultPlaybackRate = rate.value;
      el.playbackRate = rate.value;
    }
  }

  function setVolume(v: number): void {
    const el = options.el.value;
    volume.value = clamp(v, 0, 1);
    if (el) {
      el.volume = volume.value;
      if (volume.value > 0 && el.muted) el.muted = false;
      muted.value = el.muted;
    }
  }

  function toggleMute(): void {
    const el = options.el.value;
    if (el) {
      el.muted = !el.muted;
      muted.value = el.muted;
    } else muted.value = !muted.value;
  }

  async function recover(): Promise<void> {
    const el = options.el.value;
    const before = src.value;
    if (!el || !before) return;
    if (recoveries >= MAX_RECOVERIES) {
      failed.value = true;
      return;
    }
    recoveries += 1;
    resume = { at: current.value, play: playing.value || wantPlay || resume?.play === true };
    const fresh = await media.refresh(options.id());
    if (!fresh || fresh === before) {
      resume = null;
      failed.value = true;
      playing.value = false;
    }
    // Else the element loads the new source (bound in the template); `loadedmetadata` resumes.
  }

  const handlers: Record<string, (e: Event) => void> = {
    play: () => {
      const el = options.el.value;
      if (el) claimPlayback(el);
      playing.value = true;
      failed.value = false;
    },
    playing: () => {
      waiting.value = false;
      recoveries = 0;
    },
    pause: () => (playing.value = false),
    ended: () => {
      playing.value = false;
      current.value = duration.value;
    },
    timeupdate: () => {
      const el = options.el.value;
      if (el) current.value = el.currentTime;
    },
    durationchange: () => {
      const el = options.el.value;
      if (el) elementDuration.value = el.duration;
    },
    loadedmetadata: () => {
      const el = options.el.value;
      if (!el) return;
      elementDuration.value = el.duration;
      el.defaultPlaybackRate = rate.value;
      el.playbackRate = rate.value;
      if (resume) {
        const r = resume;
        resume = null;
        if (r.at > 0) el.currentTime = r.at;
        current.value = r.at;
        if (r.play) void play();
      }
    },
    canplay: () => (waiting.value = false),
    waiting: () => (waiting.value = true),
    ratechange: () => {
      const el = options.el.value;
      if (el) rate.value = el.playbackRate;
    },
    volumechange: () => {
      const el = options.el.value;
      if (!el) return;
      volume.value = el.volume;
      muted.value = el.muted;
    },
    error: () => void recover(),
  };

  let bound: HTMLMediaElement | null = null;
  function bind(el: HTMLMediaElement | null): void {
    if (bound === el) return;
    if (bound) {
      for (const [name, h] of Object.entries(handlers)) bound.removeEventListener(name, h);
      bound.pause();
      releasePlayback(bound);
    }
    bound = el;
    if (el) for (const [name, h] of Object.entries(handlers)) el.addEventListener(name, h);
  }

  onMounted(() => bind(options.el.value));
  watch(options.el, (el) => bind(el));
  // After the DOM update, so the element already has the new source.
  watch(
    src,
    (url) => {
      if (url && wantPlay) {
        wantPlay = false;
        void play();
      }
    },
    { flush: 'post' },
  );
  onBeforeUnmount(() => bind(null));

  return {
    src,
    unavailable,
    playing,
    current,
    duration,
    progress,
    rate,
    volume,
    muted,
    waiting,
    failed,
    play,
    pause,
    toggle,
    seek,
    seekBy,
    seekFraction,
    cycleSpeed,
    setVolume,
    toggleMute,
  };
}
