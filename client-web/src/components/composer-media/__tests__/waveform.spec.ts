import { afterEach, describe, expect, it, vi } from 'vitest';

import { analyseBlob, hasSignal, MAX_WAVEFORM, MIN_WAVEFORM, rms, waveformFromLevels, waveformFromSamples } from '../waveform';

/** A 1 s sine at 8 kHz whose loudness ramps linearly from 0 to 1. */
function ramp(n = 8000): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (i / n) * Math.sin((2 * Math.PI * 440 * i) / 8000);
  return out;
}

describe('waveformFromSamples', () => {
  it('gives one byte per bar, rising with the loudness, the loudest at 255', () => {
    const w = waveformFromSamples(ramp(), 32);
    expect(w).toBeInstanceOf(Uint8Array);
    expect(w.length).toBe(32);
    expect(Math.max(...w)).toBe(255);
    expect(w[31]).toBe(255);
    expect(w[0]).toBeLessThan(w[15] ?? 0);
    expect(w[15]).toBeLessThan(w[31] ?? 0);
    // never decreasing along a ramp (allowing for rounding of the sine within a slice)
    for (let i = 1; i < w.length; i++) expect((w[i] ?? 0) + 2).toBeGreaterThanOrEqual(w[i - 1] ?? 0);
  });

  it('keeps silence silent and a loud half loud', () => {
    const samples = new Float32Array(1600);
    for (let i = 800; i < 1600; i++) samples[i] = i % 2 === 0 ? 0.5 : -0.5;
    const w = waveformFromSamples(samples, 16);
    expect([...w.slice(0, 8)]).toEqual(new Array(8).fill(0));
    expect([...w.slice(8)]).toEqual(new Array(8).fill(255));
    expect(hasSignal(w)).toBe(true);
    expect(hasSignal(waveformFromSamples(new Float32Array(500), 16))).toBe(false);
  });

  it('clamps the bar count to what the protocol allows, and copes with short or empty input', () => {
    expect(waveformFromSamples(ramp(), 4).length).toBe(MIN_WAVEFORM);
    expect(waveformFromSamples(ramp(), 10_000).length).toBe(MAX_WAVEFORM);
    expect(waveformFromSamples(new Float32Array(0), 64)).toEqual(new Uint8Array(64));
    const short = waveformFromSamples(Float32Array.from([0.9, -0.9, 0.9]), 16);
    expect(short.length).toBe(16);
    expect(short.every((v) => v >= 0 && v <= 255)).toBe(true);
    expect(hasSignal(short)).toBe(true);
  });
});

describe('waveformFromLevels', () => {
  it('averages levels sampled over time into bars', () => {
    const levels = [...new Array(50).fill(0.01), ...new Array(50).fill(0.2)];
    const w = waveformFromLevels(levels, 20);
    expect(w.length).toBe(20);
    expect(w[19]).toBe(255);
    expect(w[0]).toBeLessThan(80);
    expect(w[0]).toBeGreaterThan(0);
  });

  it('stretches fewer levels than bars', () => {
    const w = waveformFromLevels([0, 1], 16);
    expect([...w.slice(0, 8)]).toEqual(new Array(8).fill(0));
    expect([...w.slice(8)]).toEqual(new Array(8).fill(255));
  });
});

describe('rms', () => {
  it('is the root mean square', () => {
    expect(rms(Float32Array.from([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5);
    expect(rms(new Float32Array(0))).toBe(0);
  });
});

describe('analyseBlob', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('decodes the blob and mixes the channels', async () => {
    const left = ramp(4000);
    const right = ramp(4000);
    class FakeAudioContext {
      decodeAudioData(): Promise<unknown> {
        return Promise.resolve({ duration: 1.234, numberOfChannels: 2, getChannelData: (c: number) => (c === 0 ? left : right) });
      }
      close(): Promise<void> {
        return Promise.resolve();
      }
    }
    vi.stubGlobal('AudioContext', FakeAudioContext);
    const r = await analyseBlob(new Blob([new Uint8Array(10)]), 16);
    expect(r?.durationMs).toBe(1234);
    expect(r?.waveform).toEqual(waveformFromSamples(left, 16));
  });

  it('gives null when the browser cannot decode it', async () => {
    vi.stubGlobal(
      'AudioContext',
      class {
        decodeAudioData(): Promise<unknown> {
          return Promise.reject(new Error('EncodingError'));
        }
      },
    );
    expect(await analyseBlob(new Blob(['x']))).toBeNull();
    vi.stubGlobal('AudioContext', undefined);
    expect(await analyseBlob(new Blob(['x']))).toBeNull();
  });
});
