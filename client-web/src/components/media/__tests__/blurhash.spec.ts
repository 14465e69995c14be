import { describe, expect, it } from 'vitest';

import { blurhashAverage, decode83, decodeBlurhash, encode83, isBlurhash } from '../blurhash';

/** Builds a hash with one DC colour and the given AC values (each 0–18 per channel; 9 is zero). */
function hash(numX: number, numY: number, dc: number, acs: number[] = [], maxAc = 0): string {
  let s = encode83(numX - 1 + (numY - 1) * 9, 1) + encode83(maxAc, 1) + encode83(dc, 4);
  for (let i = 1; i < numX * numY; i++) s += encode83(acs[i - 1] ?? 9 * 19 * 19 + 9 * 19 + 9, 2);
  return s;
}

describe('blurhash', () => {
  it('base-83 round-trips', () => {
    for (const v of [0, 1, 82, 83, 6888, 16_777_215]) expect(decode83(encode83(v, 4))).toBe(v);
    expect(decode83('0')).toBe(0);
    expect(decode83('~')).toBe(82);
    expect(decode83('é')).toBeNull();
  });

  it('a hash with only its DC component decodes to that flat colour', () => {
    const h = hash(1, 1, 0xff8000);
    expect(isBlurhash(h)).toBe(true);
    const px = decodeBlurhash(h, 4, 3);
    expect(px).not.toBeNull();
    expect(px).toHaveLength(4 * 3 * 4);
    for (let i = 0; i < 12; i++) expect([...(px ?? []).slice(i * 4, i * 4 + 4)]).toEqual([255, 128, 0, 255]);
    expect(blurhashAverage(h)).toBe('#ff8000');
  });

  it('an AC component makes a horizontal gradient: one side lighter, the other darker', () => {
    // numX = 2: the AC term cos(πx/w) is +1 on the left, −1 on the right; red channel at max (18).
    const h = hash(2, 1, 0x808080, [18 * 19 * 19 + 9 * 19 + 9], 40);
    const px = decodeBlurhash(h, 8, 1);
    expect(px).not.toBeNull();
    const red = (x: number): number => px?.[x * 4] ?? 0;
    const green = (x: number): number => px?.[x * 4 + 1] ?? 0;
    expect(red(0)).toBeGreaterThan(red(7));
    expect(red(0)).toBeGreaterThan(160);
    expect(red(7)).toBeLessThan(100);
    expect(green(0)).toBe(green(7)); // untouched channel stays flat
  });

  it('decodes the reference hash from the BlurHash project', () => {
    const h = 'LEHV6nWB2yk8pyo0adR*.7kCMdnj';
    expect(isBlurhash(h)).toBe(true);
    const px = decodeBlurhash(h, 32, 32);
    expect(px).toHaveLength(32 * 32 * 4);
    expect(blurhashAverage(h)).toMatch(/^#[0-9a-f]{6}$/);
    // Opaque everywhere.
    for (let i = 3; i < (px?.length ?? 0); i += 4) expect(px?.[i]).toBe(255);
  });

  it('refuses malformed hashes and silly sizes', () => {
    expect(decodeBlurhash('', 4, 4)).toBeNull();
    expect(decodeBlurhash('LEHV6nWB2yk8pyo0adR*.7kCMdn', 4, 4)).toBeNull(); // one char short
    expect(decodeBlurhash('LEHV6nWB2yk8pyo0adR*.7kCMdnjé', 4, 4)).toBeNull();
    expect(decodeBlurhash('LEHV6nWB2yk8pyo0adR*.7kCMd"j', 4, 4)).toBeNull(); // not a base-83 digit
    expect(decodeBlurhash('LEHV6nWB2yk8pyo0adR*.7kCMdnj', 0, 4)).toBeNull();
    expect(decodeBlurhash('LEHV6nWB2yk8pyo0adR*.7kCMdnj', 1000, 1000)).toBeNull();
    expect(isBlurhash('0'.repeat(101))).toBe(false);
    expect(blurhashAverage('nope')).toBeNull();
  });
});
