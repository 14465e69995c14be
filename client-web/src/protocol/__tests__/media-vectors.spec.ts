// @vitest-environment node
/**
 * spec/vectors/media.json: media kinds, attachments, attachment inputs and `media.urls` decode
 * (or are refused) as stated by the SDK's decoders and limit checks; the ones the SDK sends
 * re-encode to the same bytes. The JSON cases (the upload result) are not read here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { checkAttachment, checkAttachmentInput, decodeAttachment, decodeAttachmentInput, encodeAttachmentInput, isBadShape, MEDIA_KINDS, type MediaKind } from '../chat';
import { CLIENT_FRAME, decode, encode, type CborMap } from '../codec';
import { checkMediaUrlsParams, type MediaUrlRequest } from '../gateway';
import { decodeGatewayMessage, encodeGatewayMessage } from '../gateway-messages';
import { formatMediaId, type NodeName } from '../ids';

const FILE = fileURLToPath(new URL('../../../../spec/vectors/media.json', import.meta.url));

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly hex: string;
  readonly expect: 'valid' | { readonly error: string };
  readonly reencoded_hex?: string;
}

const cases: Case[] = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as { cases: Case[] }).cases : [];

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** What the SDK makes of a case: `valid` (with the bytes it would send, if it sends that rule) or an error name. */
type Outcome = { readonly ok: true; readonly bytes?: Uint8Array } | { readonly ok: false; readonly error: string };

function shape<T>(f: () => T): T | { readonly error: string } {
  try {
    return f();
  } catch (e) {
    if (isBadShape(e)) return { error: 'schema' };
    throw e;
  }
}

function requests(value: CborMap, key?: string): MediaUrlRequest[] {
  const list = key === undefined ? [value] : (value[key] as CborMap[]);
  return list.map((r) => {
    const m = r.media as { node: string; sha256: Uint8Array };
    const thumb = r.thumb;
    const media = formatMediaId({ node: m.node as NodeName, sha256: m.sha256 });
    return typeof thumb === 'number' ? { media, thumb } : { media };
  });
}

function run(c: Case): Outcome {
  const bytes = fromHex(c.hex);
  if (c.rule === 'media-url-request' || c.rule === 'media-urls-params' || c.rule === 'media-urls') {
    const decoded = decodeGatewayMessage(c.rule, bytes);
    if (!decoded.ok) return { ok: false, error: decoded.error.kind === 'Schema' ? 'schema' : decoded.error.kind };
    if (c.rule !== 'media-urls' && checkMediaUrlsParams(requests(decoded.value, c.rule === 'media-urls-params' ? 'items' : undefined)) !== null) {
      return { ok: false, error: 'limit' };
    }
    const again = encodeGatewayMessage(c.rule, decoded.value);
    if (!again.ok) throw new Error(`re-encoding failed: ${again.error.kind}`);
    return { ok: true, bytes: again.value };
  }
  const value = decode(bytes, CLIENT_FRAME);
  if (!value.ok) return { ok: false, error: value.error.kind };
  switch (c.rule) {
    case 'media-kind':
      return typeof value.value === 'string' && (MEDIA_KINDS as readonly string[]).includes(value.value as MediaKind)
        ? { ok: true }
        : { ok: false, error: 'schema' };
    case 'attachment': {
      const a = shape(() => decodeAttachment(value.value));
      if ('error' in a) return { ok: false, error: a.error };
      return checkAttachment(a) === null ? { ok: true } : { ok: false, error: 'limit' };
    }
    case 'attachment-input': {
      const a = shape(() => decodeAttachmentInput(value.value));
      if ('error' in a) return { ok: false, error: a.error };
      if (checkAttachmentInput(a) !== null) return { ok: false, error: 'limit' };
      const again = encode(encodeAttachmentInput(a), CLIENT_FRAME);
      if (!again.ok) throw new Error(`re-encoding failed: ${again.error.kind}`);
      return { ok: true, bytes: again.value };
    }
    default:
      throw new Error(`${c.name}: no decoder for rule ${c.rule}`);
  }
}

describe('media vectors', () => {
  it('has cases of every rule to run', () => {
    if (cases.length === 0) return;
    for (const rule of ['media-kind', 'attachment', 'attachment-input', 'media-url-request', 'media-urls-params', 'media-urls']) {
      expect(cases.some((c) => c.rule === rule), rule).toBe(true);
    }
    expect(cases.some((c) => c.expect !== 'valid' && c.expect.error === 'limit')).toBe(true);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const got = run(c);
    if (c.expect === 'valid') {
      if (!got.ok) throw new Error(`expected valid, got ${got.error}`);
      if (got.bytes !== undefined) expect(toHex(got.bytes)).toBe(c.reencoded_hex ?? c.hex);
    } else {
      expect(got.ok ? 'valid' : got.error).toBe(c.expect.error);
    }
  });
});
