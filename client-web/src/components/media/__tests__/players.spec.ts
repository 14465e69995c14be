import { enableAutoUnmount, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import type { Attachment } from '@/protocol';
import { provideSdk } from '@/services/sdk';

import AudioPlayer from '../AudioPlayer.vue';
import { currentPlayback } from '../playback';
import VideoPlayer from '../VideoPlayer.vue';
import VoicePlayer from '../VoicePlayer.vue';
import { hexOf, mediaId, setDuration, settle, setupMedia, type SigningGateway } from './fakes';

enableAutoUnmount(afterEach);

const song: Attachment = { media: mediaId(1), kind: 'audio', mime: 'audio/ogg', size: 123_456, name: 'song.ogg', durationMs: 65_000 };
const voice: Attachment = {
  media: mediaId(2),
  kind: 'voice',
  mime: 'audio/webm',
  size: 9_000,
  durationMs: 12_000,
  waveform: new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * 4) % 256)),
};
const clip: Attachment = { media: mediaId(3), kind: 'video', mime: 'video/webm', size: 50_000, width: 640, height: 360, durationMs: 2_000, poster: mediaId(4), blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj' };

let gw: SigningGateway;
let pinia: ReturnType<typeof setupMedia>['pinia'];

beforeEach(() => {
  ({ gw, pinia } = setupMedia());
});
afterEach(() => {
  provideSdk(null);
  vi.restoreAllMocks();
  document.body.innerHTML = '';
});

function mountWith(component: typeof AudioPlayer | typeof VoicePlayer | typeof VideoPlayer, attachment: Attachment, props: Record<string, unknown> = {}) {
  return mount(component as typeof VideoPlayer, { props: { attachment, ...props }, global: { plugins: [pinia] }, attachTo: document.body });
}

describe('AudioPlayer', () => {
  it('loads the signed URL with preload=metadata and shows the attachment duration before the metadata', async () => {
    const w = mountWith(AudioPlayer, song);
    await settle();
    const audio = w.get<HTMLAudioElement>('[data-testid=audio-element]').element;
    expect(audio.getAttribute('preload')).toBe('metadata');
    expect(audio.getAttribute('src')).toBe(`/api/media/${hexOf(1)}?exp=${gw.expiresAt}&sig=v1`);
    expect(w.get('[data-testid=audio-time]').text()).toBe('0:00 / 1:05');
    expect(w.get('[data-testid=audio-name]').text()).toBe('song.ogg');
    setDuration(audio, 70);
    await nextTick();
    expect(w.get('[data-testid=audio-time]').text()).toBe('0:00 / 1:10');
  });

  it('plays and pauses, follows time updates, seeks with the bar and the keys, and cycles the speed', async () => {
    const w = mountWith(AudioPlayer, song);
    await settle();
    const audio = w.get<HTMLAudioElement>('[data-testid=audio-element]').element;
    setDuration(audio, 65);
    const play = vi.spyOn(audio, 'play');
    await w.get('[data-testid=audio-play]').trigger('click');
    expect(play).toHaveBeenCalledOnce();
    await nextTick();
    expect(w.get('[data-testid=audio-play]').attributes('aria-label')).toBe('Pause');
    expect(w.get('[data-testid=audio-player]').attributes('data-playing')).toBe('true');

    audio.currentTime = 10;
    audio.dispatchEvent(new Event('timeupdate'));
    await nextTick();
    expect(w.get('[data-testid=audio-time]').text()).toBe('0:10 / 1:05');

    const seek = w.get<HTMLInputElement>('[data-testid=audio-seek]');
    seek.element.value = '30';
    await seek.trigger('input');
    expect(audio.currentTime).toBe(30);
    await seek.trigger('keydown', { key: 'ArrowRight' });
    expect(audio.currentTime).toBe(35);
    await seek.trigger('keydown', { key: 'Home' });
    expect(audio.currentTime).toBe(0);
    await seek.trigger('keydown', { key: 'End' });
    expect(audio.currentTime).toBe(65);
    expect(seek.attributes('aria-valuetext')).toBe('1 minute 5 seconds of 1 minute 5 seconds');

    const speed = w.get('[data-testid=audio-speed]');
    expect(speed.text()).toBe('1×');
    await speed.trigger('click');
    expect(speed.text()).toBe('1.5×');
    expect(audio.playbackRate).toBe(1.5);
    await speed.trigger('click');
    expect(audio.playbackRate).toBe(2);
    await speed.trigger('click');
    expect(speed.text()).toBe('1×');
    expect(audio.playbackRate).toBe(1);

    await w.get('[data-testid=audio-play]').trigger('click');
    expect(audio.paused).toBe(true);
    await nextTick();
    expect(w.get('[data-testid=audio-play]').attributes('aria-label')).toBe('Play');
  });

  it('plays one at a time: starting a second player pauses the first', async () => {
    const a = mountWith(AudioPlayer, song);
    const b = mountWith(AudioPlayer, { ...song, media: mediaId(9) });
    await settle();
    const ea = a.get<HTMLAudioElement>('audio').element;
    const eb = b.get<HTMLAudioElement>('audio').element;
    await a.get('[data-testid=audio-play]').trigger('click');
    expect(ea.paused).toBe(false);
    await b.get('[data-testid=audio-play]').trigger('click');
    expect(eb.paused).toBe(false);
    expect(ea.paused).toBe(true);
    expect(currentPlayback()).toBe(eb);
  });

  it('a play before the URL is signed starts once it arrives', async () => {
    const w = mountWith(AudioPlayer, song);
    const audio = w.get<HTMLAudioElement>('audio').element;
    expect(audio.getAttribute('src')).toBeNull();
    await w.get('[data-testid=audio-play]').trigger('click');
    expect(audio.paused).toBe(true);
    await settle();
    expect(audio.getAttribute('src')).toContain('sig=v1');
    expect(audio.paused).toBe(false);
  });

  it('after an error (expired URL) signs again, then restores the position and keeps playing', async () => {
    const w = mountWith(AudioPlayer, song);
    await settle();
    const audio = w.get<HTMLAudioElement>('audio').element;
    setDuration(audio, 65);
    await w.get('[data-testid=audio-play]').trigger('click');
    audio.currentTime = 42;
    audio.dispatchEvent(new Event('timeupdate'));
    gw.version = 2;
    audio.dispatchEvent(new Event('error'));
    await settle();
    expect(gw.calls).toHaveLength(2);
    expect(audio.getAttribute('src')).toContain('sig=v2');
    // The browser would reset the element on a new source.
    audio.pause();
    audio.currentTime = 0;
    setDuration(audio, 65);
    await nextTick();
    expect(audio.currentTime).toBe(42);
    expect(audio.paused).toBe(false);
  });

  it('gives up when signing again gives the same URL', async () => {
    const w = mountWith(AudioPlayer, song);
    await settle();
    const audio = w.get<HTMLAudioElement>('audio').element;
    audio.dispatchEvent(new Event('error'));
    await settle();
    expect(w.find('[role=alert]').exists()).toBe(true);
  });
});

describe('VoicePlayer', () => {
  it('draws the waveform, colours what has played and seeks by clicking it', async () => {
    const w = mountWith(VoicePlayer, voice);
    await settle();
    const audio = w.get<HTMLAudioElement>('[data-testid=voice-element]').element;
    expect(audio.getAttribute('preload')).toBe('metadata');
    expect(w.findAll('[data-testid=voice-bar]')).toHaveLength(48);
    expect(w.findAll('[data-testid=voice-bar][data-played]')).toHaveLength(0);
    // A recorder WebM states no duration: the attachment's is used.
    Object.defineProperty(audio, 'duration', { configurable: true, get: () => Number.POSITIVE_INFINITY });
    audio.dispatchEvent(new Event('loadedmetadata'));
    await nextTick();
    expect(w.get('[data-testid=voice-time]').text()).toBe('0:00 / 0:12');

    audio.currentTime = 6;
    audio.dispatchEvent(new Event('timeupdate'));
    await nextTick();
    expect(w.findAll('[data-testid=voice-bar][data-played]')).toHaveLength(24);

    const wave = w.get('[data-testid=voice-waveform]');
    vi.spyOn(wave.element, 'getBoundingClientRect').mockReturnValue({ left: 100, width: 200, top: 0, height: 28, right: 300, bottom: 28, x: 100, y: 0, toJSON: () => ({}) });
    await wave.trigger('pointerdown', { clientX: 250, pointerId: 1 });
    expect(audio.currentTime).toBe(9); // 75 % of 12 s
    await wave.trigger('pointerup', { pointerId: 1 });
    await wave.trigger('keydown', { key: 'ArrowLeft' });
    expect(audio.currentTime).toBe(4);
    expect(wave.attributes('role')).toBe('slider');
    expect(wave.attributes('aria-valuenow')).toBe('4');
  });

  it('plays, pauses and cycles the speed', async () => {
    const w = mountWith(VoicePlayer, voice);
    await settle();
    const audio = w.get<HTMLAudioElement>('audio').element;
    await w.get('[data-testid=voice-play]').trigger('click');
    expect(audio.paused).toBe(false);
    await w.get('[data-testid=voice-speed]').trigger('click');
    expect(audio.playbackRate).toBe(1.5);
    await w.get('[data-testid=voice-waveform]').trigger('keydown', { key: ' ' });
    expect(audio.paused).toBe(true);
  });
});

describe('VideoPlayer', () => {
  it('shows the poster thumbnail, plays and seeks with its own controls', async () => {
    const w = mountWith(VideoPlayer, clip, { aspect: 16 / 9, cssWidth: 320 });
    await settle();
    const video = w.get<HTMLVideoElement>('[data-testid=video-element]').element;
    expect(video.getAttribute('preload')).toBe('metadata');
    expect(video.getAttribute('poster')).toBe(`/api/media/${hexOf(4)}/thumb/320?exp=${gw.expiresAt}&sig=v1`);
    expect(video.getAttribute('src')).toContain(hexOf(3));
    setDuration(video, 2);
    await nextTick();
    expect(w.get('[data-testid=video-time]').text()).toBe('0:00 / 0:02');

    await w.get('[data-testid=video-play]').trigger('click');
    expect(video.paused).toBe(false);
    await nextTick();
    expect(w.get('[data-testid=video-play]').attributes('aria-label')).toBe('Pause');

    const seek = w.get<HTMLInputElement>('[data-testid=video-seek]');
    seek.element.value = '1.5';
    await seek.trigger('input');
    expect(video.currentTime).toBe(1.5);

    // The video itself toggles on click.
    await w.get('[data-testid=video-element]').trigger('click');
    expect(video.paused).toBe(true);
  });

  it('changes the volume, mutes, and asks for full screen on the whole player', async () => {
    const w = mountWith(VideoPlayer, clip);
    await settle();
    const video = w.get<HTMLVideoElement>('video').element;
    const volume = w.get<HTMLInputElement>('[data-testid=video-volume]');
    volume.element.value = '0.5';
    await volume.trigger('input');
    expect(video.volume).toBe(0.5);
    await w.get('[data-testid=video-mute]').trigger('click');
    expect(video.muted).toBe(true);
    expect(w.get('[data-testid=video-mute]').attributes('aria-label')).toBe('Unmute');
    const wrap = w.get('[data-testid=video-player]').element as HTMLElement;
    const request = vi.fn(() => Promise.resolve());
    (wrap as HTMLElement & { requestFullscreen: () => Promise<void> }).requestFullscreen = request;
    await w.get('[data-testid=video-fullscreen]').trigger('click');
    expect(request).toHaveBeenCalledOnce();
  });

  it('answers the keyboard: space plays/pauses, arrows seek and change the volume, M mutes', async () => {
    const w = mountWith(VideoPlayer, clip);
    await settle();
    const video = w.get<HTMLVideoElement>('video').element;
    setDuration(video, 20);
    const wrap = w.get('[data-testid=video-player]');
    await wrap.trigger('keydown', { key: ' ' });
    expect(video.paused).toBe(false);
    await wrap.trigger('keydown', { key: 'ArrowRight' });
    expect(video.currentTime).toBe(5);
    await wrap.trigger('keydown', { key: 'ArrowLeft' });
    expect(video.currentTime).toBe(0);
    await wrap.trigger('keydown', { key: 'ArrowDown' });
    expect(video.volume).toBeCloseTo(0.9);
    await wrap.trigger('keydown', { key: 'm' });
    expect(video.muted).toBe(true);
    await wrap.trigger('keydown', { key: ' ' });
    expect(video.paused).toBe(true);
  });

  it('without a poster shows the blurhash', async () => {
    const w = mountWith(VideoPlayer, { ...clip, poster: undefined });
    await settle();
    expect(w.find('[data-testid=blurhash]').exists()).toBe(true);
    expect(w.get('video').attributes('poster')).toBeUndefined();
  });
});
