/**
 * Bounds applied to every decoded frame, checked before anything is built.
 * Mirrors `protocol/src/codec/limits.rs`; a change there is a change here.
 */
export interface Limits {
  /** Largest whole frame, in bytes. */
  readonly maxFrame: number;
  /** Deepest nesting of arrays and maps (the top-level item is depth 1). */
  readonly maxDepth: number;
  /** Most entries in one array or map. */
  readonly maxItems: number;
  /** Longest text or byte string, in bytes. */
  readonly maxString: number;
  /**
   * Every map key must be a text string. Client frames use text keys only; a text-key rule
   * also stops an integer key from being matched to a field by position.
   */
  readonly textKeys: boolean;
}

/** A WebSocket frame between a browser and its node (spec: "Limits"). */
export const CLIENT_FRAME: Limits = Object.freeze({
  maxFrame: 64 * 1024,
  maxDepth: 16,
  maxItems: 1024,
  maxString: 64 * 1024,
  textKeys: true,
});

/** Largest integer magnitude allowed anywhere: 2^53 − 1, exact in every JS number. */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
