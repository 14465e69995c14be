import { mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Recording } from '../types';
import VoiceRecorder from '../VoiceRecorder.vue';

/** A fake microphone, recorder and analyser, enough for the component. */
class FakeRecorder {
  static instances: FakeRecorder[] = [];
  static isTypeSupported(m: string): boolean {
    return m === 'audio/webm;codecs=opus';
  }
  state: 'inactive' | 'recording' = 'inactive';
  readonly mimeType: string;
  ondataavailable: ((e: { data: Blob }) => void) | null = null;
  onstop: (() => void) | null = null;
  timeslice: number | undefined;
  constructor(
    readonly stream: unknown,
    options?: { mimeType?: string },
  ) {
    this.mimeType = options?.mimeType ?? 'audio/webm';
    FakeRecorder.instances.push(this);
  }
  start(timeslice?: number): void {
    this.timeslice = timeslice;
    this.state = 'recording';
    this.ondataavailable?.({ data: new Blob(['chunk-1'], { type: this.mimeType }) });
  }
  stop(): void {
    this.state = 'inactive';
    this.ondataavailable?.({ data: new Blob(['chunk-2'], { type: this.mimeType }) });
    queueMicrotask(() => this.onstop?.());
  }
}

let loudness = 0.3;
class FakeAudioContext {
  static closed = 0;
  createMediaStreamSource() {
    return { connect: () => {} };
  }
  createAnalyser() {
    return {
      fftSize: 2048,
      getFloatTimeDomainData(a: Float32Array) {
        for (let i = 0; i < a.length; i++) a[i] = i % 2 === 0 ? loudness : -loudness;
      },
    };
  }
  close() {
    FakeAudioContext.closed++;
    return Promise.resolve();
  }
}

const track = { stop: vi.fn() };
let getUserMedia: ReturnType<typeof vi.fn>;

function install(opts: { deny?: boolean; audioContext?: boolean } = {}) {
  FakeRecorder.instances = [];
  FakeAudioContext.closed = 0;
  track.stop.mockClear();
  getUserMedia = vi.fn(() => (opts.deny ? Promise.reject(Object.assign(new Error('denied'), { name: 'NotAllowedError' })) : Promise.resolve({ getTracks: () => [track] })));
  vi.stubGlobal('MediaRecorder', FakeRecorder);
  vi.stubGlobal('AudioContext', opts.audioContext === false ? undefined : FakeAudioContext);
  Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia }, configurable: true });
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

function recorded(w: VueWrapper): Recording[] {
  return (w.emitted('recorded') ?? []).map((args) => args[0] as Recording);
}

describe('VoiceRecorder', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    loudness = 0.3;
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    document.body.innerHTML = '';
  });

  it('tap to start: shows the elapsed time and a live level, then ➤ sends it with a waveform and its duration', async () => {
    install();
    const w = mount(VoiceRecorder, { attachTo: document.body });
    const mic = w.get('[data-testid=voice-record]');
    await mic.trigger('pointerdown', { button: 0, clientX: 100, pointerId: 1 });
    await tick(100);
    await mic.trigger('pointerup', { button: 0, clientX: 100, pointerId: 1 });
    await tick(0);
    expect(getUserMedia).toHaveBeenCalledWith({ audio: expect.objectContaining({ echoCancellation: true }) });
    expect(FakeRecorder.instances[0]?.mimeType).toBe('audio/webm;codecs=opus');
    expect(w.attributes('data-phase')).toBe('recording');
    expect(w.attributes('data-mode')).toBe('tap');
    expect(w.emitted('active')?.[0]).toEqual([true]);
    // hands-free: the mic is replaced by send, with cancel beside it
    expect(w.find('[data-testid=voice-record]').exists()).toBe(false);
    expect(w.find('[data-testid=voice-cancel]').exists()).toBe(true);

    await tick(2_100);
    expect(w.get('[data-testid=voice-elapsed]').text()).toBe('0:02');
    expect(Number(w.get('[data-testid=voice-level]').attributes('data-level'))).toBeGreaterThan(0.5);
    expect(w.findAll('[data-testid=voice-level] span').length).toBeGreaterThan(10);

    await w.get('[data-testid=voice-send]').trigger('click');
    await tick(0);
    await tick(0);
    const [r] = recorded(w);
    expect(r).toBeDefined();
    expect(r?.blob.type).toBe('audio/webm;codecs=opus');
    expect(r?.blob.size).toBe('chunk-1chunk-2'.length);
    expect(r?.durationMs).toBeGreaterThanOrEqual(2_100);
    expect(r?.durationMs).toBeLessThan(2_400);
    expect(r?.waveform).toBeInstanceOf(Uint8Array);
    expect(r?.waveform.length).toBeGreaterThanOrEqual(16);
    expect(r?.waveform.length).toBeLessThanOrEqual(256);
    expect(Math.max(...(r?.waveform ?? []))).toBe(255);
    expect(track.stop).toHaveBeenCalled();
    expect(FakeAudioContext.closed).toBe(1);
    expect(w.attributes('data-phase')).toBe('idle');
    expect(w.emitted('active')?.at(-1)).toEqual([false]);
  });

  it('press and hold records; releasing sends', async () => {
    install();
    const w = mount(VoiceRecorder, { attachTo: document.body });
    const mic = w.get('[data-testid=voice-record]');
    await mic.trigger('pointerdown', { button: 0, clientX: 100, pointerId: 1 });
    await tick(1_500);
    expect(w.attributes('data-mode')).toBe('hold');
    expect(w.find('[data-testid=voice-record]').exists()).toBe(true); // stays under the finger
    await w.get('[data-testid=voice-record]').trigger('pointerup', { button: 0, clientX: 100, pointerId: 1 });
    await tick(0);
    await tick(0);
    const [r] = recorded(w);
    expect(r?.durationMs).toBe(1_500);
    expect(w.attributes('data-phase')).toBe('idle');
  });

  it('sliding left while holding cancels, and nothing is sent', async () => {
    install();
    const w = mount(VoiceRecorder, { attachTo: document.body });
    const mic = w.get('[data-testid=voice-record]');
    await mic.trigger('pointerdown', { button: 0, clientX: 300, pointerId: 1 });
    await tick(800);
    await mic.trigger('pointermove', { clientX: 250, pointerId: 1 });
    expect(w.attributes('data-phase')).toBe('recording');
    await mic.trigger('pointermove', { clientX: 200, pointerId: 1 });
    await tick(0);
    await tick(0);
    await mic.trigger('pointerup', { clientX: 200, pointerId: 1 });
    await tick(0);
    expect(recorded(w)).toEqual([]);
    expect(FakeRecorder.instances[0]?.state).toBe('inactive');
    expect(track.stop).toHaveBeenCalled();
    expect(w.attributes('data-phase')).toBe('idle');
  });

  it('Escape or the cancel button throws the recording away', async () => {
    install();
    const w = mount(VoiceRecorder, { attachTo: document.body });
    // keyboard activation (a click with detail 0) starts hands-free recording
    await w.get('[data-testid=voice-record]').trigger('click', { detail: 0 });
    await tick(1_000);
    expect(w.attributes('data-phase')).toBe('recording');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await tick(0);
    await tick(0);
    expect(w.attributes('data-phase')).toBe('idle');
    expect(recorded(w)).toEqual([]);

    await w.get('[data-testid=voice-record]').trigger('click', { detail: 0 });
    await tick(1_000);
    await w.get('[data-testid=voice-cancel]').trigger('click');
    await tick(0);
    await tick(0);
    expect(w.attributes('data-phase')).toBe('idle');
    expect(recorded(w)).toEqual([]);
    expect(track.stop).toHaveBeenCalledTimes(2);
  });

  it('reports a refused microphone', async () => {
    install({ deny: true });
    const w = mount(VoiceRecorder, { attachTo: document.body });
    await w.get('[data-testid=voice-record]').trigger('click', { detail: 0 });
    await tick(0);
    expect(w.emitted('error')?.[0]).toEqual(['Microphone access was denied.']);
    expect(w.attributes('data-phase')).toBe('idle');
  });

  it('drops a recording that is too short to be a message', async () => {
    install();
    const w = mount(VoiceRecorder, { attachTo: document.body });
    await w.get('[data-testid=voice-record]').trigger('click', { detail: 0 });
    await tick(100);
    await w.get('[data-testid=voice-send]').trigger('click');
    await tick(0);
    await tick(0);
    expect(recorded(w)).toEqual([]);
    expect(w.emitted('error')).toHaveLength(1);
  });

  it('still sends a waveform of the allowed size without Web Audio', async () => {
    install({ audioContext: false });
    const w = mount(VoiceRecorder, { attachTo: document.body });
    await w.get('[data-testid=voice-record]').trigger('click', { detail: 0 });
    await tick(1_000);
    await w.get('[data-testid=voice-send]').trigger('click');
    await tick(0);
    await tick(0);
    const [r] = recorded(w);
    expect(r?.waveform.length).toBeGreaterThanOrEqual(16);
    expect(r?.durationMs).toBe(1_000);
  });

  it('is not offered where the browser cannot record', () => {
    install();
    vi.stubGlobal('MediaRecorder', undefined);
    const w = mount(VoiceRecorder);
    expect(w.find('[data-testid=voice-record]').exists()).toBe(false);
  });
});
