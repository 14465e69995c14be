// @vitest-environment node
/** The codec's own rules, ported from protocol/src/codec/tests.rs, plus the encoder's boundaries. */
import { describe, expect, it } from 'vitest';

import { checkWellFormed, CLIENT_FRAME, decode, encode, MAX_SAFE_INTEGER, type CborValue, type Limits } from '../codec';
import type { DecodeError } from '../errors';

const L = CLIENT_FRAME;
const bytes = (...parts: Array<number[] | Uint8Array | string>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(new TextEncoder().encode(p)) : Array.from(p))));
const check = (b: Uint8Array, limits: Limits = L): DecodeError | null => {
  const r = checkWellFormed(b, limits);
  return r.ok ? null : r.error;
};
const encoded = (value: unknown): Uint8Array => {
  const r = encode(value, L);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
const decoded = (b: Uint8Array): CborValue => {
  const r = decode(b, L);
  if (!r.ok) throw new Error(JSON.stringify(r.error, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  return r.value;
};

describe('encode', () => {
  it('writes plain CBOR, byte for byte', () => {
    // {"name": "héllo", "count": 7}
    const b = encoded({ name: 'héllo', count: 7 });
    expect(b).toEqual(bytes([0xa2, 0x64], 'name', [0x66], 'héllo', [0x65], 'count', [0x07]));
    expect(decoded(b)).toEqual({ name: 'héllo', count: 7 });
  });

  it('uses shortest heads for integers at every boundary, and no floats', () => {
    const boundaries = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, MAX_SAFE_INTEGER];
    for (const n of boundaries.flatMap((x) => [x, -x, -x - 1]).filter((x) => Math.abs(x) <= MAX_SAFE_INTEGER)) {
      const b = encoded(n);
      expect(check(b), `${n}`).toBeNull();
      expect(decoded(b)).toBe(n === 0 ? 0 : n);
    }
    expect(encoded(2 ** 32)).toEqual(bytes([0x1b, 0, 0, 0, 1, 0, 0, 0, 0]));
    expect(encoded(-(2 ** 32))).toEqual(bytes([0x3a, 0xff, 0xff, 0xff, 0xff]));
    expect(encoded(-(2 ** 32) - 1)).toEqual(bytes([0x3b, 0, 0, 0, 1, 0, 0, 0, 0]));
  });

  it('uses shortest heads for strings, byte strings, arrays and maps at every boundary', () => {
    for (const n of [0, 23, 24, 255, 256, 1023, 1024]) {
      const map = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
      for (const value of ['x'.repeat(n), 'é'.repeat(n), new Uint8Array(n), new Array<number>(n).fill(1), map]) {
        const b = encoded(value);
        expect(check(b), `${n}`).toBeNull();
        expect(decoded(b)).toEqual(value);
      }
    }
    expect(check(encoded('x'.repeat(65_000)))).toBeNull();
  });

  it('writes byte strings without tag 64', () => {
    expect(encoded(new Uint8Array([1, 2]))).toEqual(bytes([0x42, 1, 2]));
  });

  it('refuses what the protocol cannot carry', () => {
    for (const bad of [1.5, NaN, Infinity, 2 ** 53, undefined, [undefined], new Date(0), () => 1, Symbol('s'), new Uint16Array(2)]) {
      const r = encode(bad, L);
      expect(r.ok, String(bad)).toBe(false);
      if (!r.ok) expect(r.error.kind).toBe('Serialize');
    }
  });

  it('leaves out undefined properties, as JSON does', () => {
    expect(encoded({ a: 1, b: undefined })).toEqual(encoded({ a: 1 }));
  });

  it('keeps "__proto__" an ordinary key both ways', () => {
    const b = bytes([0xa1, 0x69], '__proto__', [0x01]);
    const value = decoded(b);
    expect(Object.keys(value as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(encoded(value)).toEqual(b);
  });

  it('checks the receiver limits (encode_within)', () => {
    const r = encode('x'.repeat(70_000), L);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'Limits', error: { kind: 'FrameTooLarge', max: 65_536 } });
  });
});

describe('decode', () => {
  it('refuses every truncation', () => {
    const b = encoded({ name: 'héllo', count: 7 });
    for (let len = 0; len < b.length; len++) {
      expect(check(b.subarray(0, len))?.kind, `prefix of ${len}`).toBe('Truncated');
    }
  });

  it('refuses huge length headers without allocating', () => {
    for (const [initial, kind] of [
      [0x7a, 'StringTooLong'],
      [0x5a, 'StringTooLong'],
      [0x9a, 'TooManyItems'],
      [0xba, 'TooManyItems'],
    ] as const) {
      expect(check(bytes([initial, 0xff, 0xff, 0xff, 0xff]))).toMatchObject({ kind, len: 0xffff_ffffn });
    }
    expect(check(bytes([0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))?.kind).toBe('StringTooLong');
  });

  it('refuses ten thousand levels of nesting, and takes exactly the limit', () => {
    expect(check(bytes(new Array<number>(10_000).fill(0x81), [0]))).toMatchObject({ kind: 'TooDeep', max: 16 });
    // {"a": {"a": … }}
    const maps = new Array<number[]>(10_000).fill([0xa1, 0x61, 0x61]).flat();
    expect(check(bytes(maps, [0]))?.kind).toBe('TooDeep');
    expect(check(bytes(new Array<number>(16).fill(0x81), [0]))).toBeNull();
    expect(check(bytes(new Array<number>(17).fill(0x81), [0]))?.kind).toBe('TooDeep');
  });

  it('refuses invalid UTF-8', () => {
    expect(check(bytes([0x62, 0xc3, 0x28]))).toEqual({ kind: 'InvalidUtf8', offset: 0 });
  });

  it('keeps integers within ±(2^53 − 1)', () => {
    expect(decoded(bytes([0x1b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(MAX_SAFE_INTEGER);
    expect(check(bytes([0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0]))?.kind).toBe('IntegerOutOfRange');
    expect(decoded(bytes([0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]))).toBe(-MAX_SAFE_INTEGER);
    expect(check(bytes([0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))?.kind).toBe('IntegerOutOfRange');
    expect(check(bytes([0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))?.kind).toBe('IntegerOutOfRange');
  });

  it('accepts only the protocol subset, with the Rust errors and offsets', () => {
    const cases: Array<[number[], DecodeError]> = [
      [[0x18, 0x05], { kind: 'NonCanonical', offset: 0 }],
      [[0x19, 0x00, 0x10], { kind: 'NonCanonical', offset: 0 }],
      [[0x9f, 0xff], { kind: 'Unsupported', offset: 0, what: 'indefinite length' }],
      [[0xff], { kind: 'Unsupported', offset: 0, what: 'break' }],
      [[0xc1, 0x00], { kind: 'Unsupported', offset: 0, what: 'tag' }],
      [[0xf9, 0x3c, 0x00], { kind: 'Unsupported', offset: 0, what: 'floating-point number' }],
      [[0xf7], { kind: 'Unsupported', offset: 0, what: 'undefined' }],
      [[0xf0], { kind: 'Unsupported', offset: 0, what: 'simple value' }],
      [[0xf8, 0x20], { kind: 'Unsupported', offset: 0, what: 'simple value' }],
      [[0x1c], { kind: 'Unsupported', offset: 0, what: 'reserved additional information' }],
      [[0x00, 0x00], { kind: 'TrailingBytes', offset: 1 }],
    ];
    for (const [b, want] of cases) expect(check(bytes(b)), JSON.stringify(b)).toEqual(want);
    expect(decoded(bytes([0x83, 0xf4, 0xf5, 0xf6]))).toEqual([false, true, null]);
  });

  it('refuses duplicate map keys', () => {
    // {"a": 1, "b": 2, "a": 3}
    expect(check(bytes([0xa3, 0x61], 'a', [0x01, 0x61], 'b', [0x02, 0x61], 'a', [0x03]))).toEqual({
      kind: 'DuplicateKey',
      offset: 7,
    });
  });

  it('counts items against the limit', () => {
    const limits = { ...L, maxItems: 3 };
    expect(check(bytes([0x83, 0, 0, 0]), limits)).toBeNull();
    expect(check(bytes([0x84, 0, 0, 0, 0]), limits)).toMatchObject({ kind: 'TooManyItems', len: 4n, max: 3 });
  });

  it('refuses a frame over the limit before looking inside', () => {
    expect(check(new Uint8Array(65_537))).toEqual({ kind: 'FrameTooLarge', len: 65_537, max: 65_536 });
  });

  it('refuses a key that is not text in client frames', () => {
    expect(check(bytes([0xa2, 0x61], 'a', [0x03, 0x01, 0x02]))).toEqual({ kind: 'NonTextKey', offset: 4 });
  });

  it('gives a Map, not an object, when a key is not text (where limits allow it)', () => {
    const any: Limits = { ...L, textKeys: false };
    const r = decode(bytes([0xa2, 0x01, 0x02, 0x61], 'a', [0x03]), any);
    if (!r.ok) throw new Error(r.error.kind);
    const value = r.value;
    expect(value).toEqual(
      new Map<CborValue, CborValue>([
        [1, 2],
        ['a', 3],
      ]),
    );
    const again = encode(value, any);
    expect(again.ok && again.value).toEqual(bytes([0xa2, 0x01, 0x02, 0x61], 'a', [0x03]));
  });

  it('returns byte strings the caller owns', () => {
    const b = bytes([0x42, 1, 2]);
    const value = decoded(b) as Uint8Array;
    b[1] = 9;
    expect(Array.from(value)).toEqual([1, 2]);
  });
});
