// @vitest-environment node
/** Client frames round-trip and refuse what the Rust crate refuses (protocol/src/client.rs tests). */
import { describe, expect, it } from 'vitest';

import { CLIENT_FRAME, encode } from '../codec';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  type ClientFrame,
  type ServerFrame,
} from '../frames';
import { ERROR_CODES, isKnownErrorCode } from '../error-codes';

function bytesOf<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('frames', () => {
  it('round-trip', () => {
    const frames: ServerFrame[] = [
      { t: 'ok', id: 1, result: { user: '@a:b.c' } },
      { t: 'err', id: 2, error: { code: 'forbidden', message: 'no' } },
      { t: 'err', id: 3, error: { code: 'teapot', message: 'short and stout' } },
      { t: 'push', event: 'presence', data: {}, cursor: 'c1' },
      { t: 'push', event: 'presence', data: {} },
    ];
    for (const frame of frames) {
      expect(bytesOf(decodeServerFrame(bytesOf(encodeServerFrame(frame))))).toEqual(frame);
    }
    const request: ClientFrame = { t: 'req', id: 9, method: 'auth', params: {} };
    expect(bytesOf(decodeClientFrame(bytesOf(encodeClientFrame(request))))).toEqual(request);
  });

  it('refuse unknown frame types and bad params', () => {
    const enc = (v: unknown): Uint8Array => bytesOf(encode(v, CLIENT_FRAME));
    for (const bad of [{ t: 'hello', id: 1 }, { id: 1 }, { t: 'req', id: 1, method: 'auth', params: 3 }]) {
      const r = decodeClientFrame(enc(bad));
      expect(r.ok ? 'decoded' : r.error.kind, JSON.stringify(bad)).toBe('Schema');
    }
  });

  it('read a null cursor as none, as serde does', () => {
    const r = decodeServerFrame(bytesOf(encode({ t: 'push', event: 'e', data: null, cursor: null }, CLIENT_FRAME)));
    expect(bytesOf(r)).toEqual({ t: 'push', event: 'e', data: null });
  });

  it('know every error code of error_code.rs', () => {
    expect(Object.keys(ERROR_CODES)).toEqual([
      'bad_request',
      'unknown_method',
      'unauthenticated',
      'forbidden',
      'not_found',
      'conflict',
      'too_large',
      'rate_limited',
      'unavailable',
      'internal',
    ]);
    expect(isKnownErrorCode('teapot')).toBe(false);
    expect(isKnownErrorCode('toString')).toBe(false);
  });
});
