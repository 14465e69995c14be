/**
 * A small BlurHash decoder (https://blurha.sh, the Wolt algorithm): the node stores a hash of
 * every image and video poster, and the timeline paints it on a tiny canvas so the shape and
 * colours of an image show before its thumbnail arrives.
 *
 * Pure: `decodeBlurhash` returns RGBA pixels (or null for a malformed hash), no DOM needed.
 */

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
const VALUE: Record<string, number> = Object.fromEntries(Array.from(DIGITS, (c, i) => [c, i]));

/** The protocol's limit on a hash's length (MAX_BLURHASH_CHARS). */
export const MAX_BLURHASH_CHARS = 100;

/** Base-83 decoding of `s`; null when a character is not a base-83 digit. */
export function decode83(s: string): number | null {
  let value = 0;
  for (const c of s) {
    const digit = VALUE[c];
    if (digit === undefined) return null;
    value = value * 83 + digit;
  }
  return value;
}

/** Base-83 encoding of `value` in exactly `length` digits (used by tests to build hashes). */
export function encode83(value: number, length: number): string {
  let out = '';
  for (let i = 1; i <= length; i++) {
    const digit = Math.floor(value / 83 ** (length - i)) % 83;
    out += DIGITS[digit];
  }
  return out;
}

function srgbToLinear(v: number): number {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
}

function linearToSrgb(v: number): number {
  const x = Math.max(0, Math.min(1, v));
  return x <= 0.0031308 ? Math.trunc(x * 12.92 * 255 + 0.5) : Math.trunc((1.055 * x ** (1 / 2.4) - 0.055) * 255 + 0.5);
}

function signPow(v: number, exp: number): number {
  return Math.sign(v) * Math.abs(v) ** exp;
}

/** Whether `hash` is a well-formed BlurHash (length matches its component count, all digits valid). */
export function isBlurhash(hash: string): boolean {
  if (hash.length < 6 || hash.length > MAX_BLURHASH_CHARS) return false;
  const sizeFlag = decode83(hash[0] ?? '');
  if (sizeFlag === null) return false;
  const numY = Math.floor(sizeFlag / 9) + 1;
  const numX = (sizeFlag % 9) + 1;
  return hash.length === 4 + 2 * numX * numY && decode83(hash) !== null;
}

/**
 * Decodes `hash` into `width × height` RGBA pixels; `punch` (≥ 1) exaggerates the contrast.
 * Null for a malformed hash or a size that is not a small positive integer.
 */
export function decodeBlurhash(hash: string, width: number, height: number, punch = 1): Uint8ClampedArray<ArrayBuffer> | null {
  if (!isBlurhash(hash)) return null;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 256 * 256) return null;
  const sizeFlag = decode83(hash[0] ?? '') ?? 0;
  const numY = Math.floor(sizeFlag / 9) + 1;
  const numX = (sizeFlag % 9) + 1;
  const maxValue = ((decode83(hash[1] ?? '') ?? 0) + 1) / 166;

  const colours: [number, number, number][] = [];
  for (let i = 0; i < numX * numY; i++) {
    if (i === 0) {
      const dc = decode83(hash.slice(2, 6)) ?? 0;
      colours.push([srgbToLinear(dc >> 16), srgbToLinear((dc >> 8) & 255), srgbToLinear(dc & 255)]);
    } else {
      const ac = decode83(hash.slice(4 + i * 2, 6 + i * 2)) ?? 0;
      const scale = maxValue * Math.max(1, punch);
      colours.push([
        signPow((Math.floor(ac / (19 * 19)) - 9) / 9, 2) * scale,
        signPow(((Math.floor(ac / 19) % 19) - 9) / 9, 2) * scale,
        signPow(((ac % 19) - 9) / 9, 2) * scale,
      ]);
    }
  }

  const pixels = new Uint8ClampedArray(width * height * 4);
  const cosX = new Float64Array(width * numX);
  for (let x = 0; x < width; x++) for (let i = 0; i < numX; i++) cosX[x * numX + i] = Math.cos((Math.PI * x * i) / width);
  const cosY = new Float64Array(height * numY);
  for (let y = 0; y < height; y++) for (let j = 0; j < numY; j++) cosY[y * numY + j] = Math.cos((Math.PI * y * j) / height);

  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < numY; j++) {
        for (let i = 0; i < numX; i++) {
          const basis = (cosX[x * numX + i] ?? 0) * (cosY[y * numY + j] ?? 0);
          const c = colours[i + j * numX] ?? [0, 0, 0];
          r += c[0] * basis;
          g += c[1] * basis;
          b += c[2] * basis;
        }
      }
      const p = 4 * (x + y * width);
      pixels[p] = linearToSrgb(r);
      pixels[p + 1] = linearToSrgb(g);
      pixels[p + 2] = linearToSrgb(b);
      pixels[p + 3] = 255;
    }
  }
  return pixels;
}

/** The average colour of a hash (its DC component) as `#rrggbb`, or null when malformed. */
export function blurhashAverage(hash: string): string | null {
  if (!isBlurhash(hash)) return null;
  const dc = decode83(hash.slice(2, 6)) ?? 0;
  return `#${dc.toString(16).padStart(6, '0')}`;
}
