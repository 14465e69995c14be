/**
 * One player plays at a time: a player that starts claims playback, which pauses whichever
 * audio, voice or video element was playing before (like Telegram: starting a voice message
 * stops the song).
 */
let current: HTMLMediaElement | null = null;

/** Call when `el` starts playing: pauses the element that was playing, if another. */
export function claimPlayback(el: HTMLMediaElement): void {
  if (current !== null && current !== el && !current.paused) current.pause();
  current = el;
}

/** Call when `el` goes away (unmount): it no longer holds playback. */
export function releasePlayback(el: HTMLMediaElement): void {
  if (current === el) current = null;
}

/** The element that claimed playback last (tests). */
export function currentPlayback(): HTMLMediaElement | null {
  return current;
}
