/** A finished voice recording, as `VoiceRecorder` emits it. */
export interface Recording {
  readonly blob: Blob;
  readonly mime: string;
  readonly durationMs: number;
  /** 16–256 bytes, 0–255. */
  readonly waveform: Uint8Array;
}
