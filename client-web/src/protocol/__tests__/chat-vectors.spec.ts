// @vitest-environment node
/**
 * spec/vectors/chat.json: every result and push case decodes (or is refused) exactly as stated
 * by the chat SDK's decoders. Params are encoded by the SDK and decoded by the node; their cases
 * run in protocol/tests/spec_vectors.rs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { CHAT_RESULT_DECODERS, isBadShape } from '../chat';
import { CLIENT_FRAME, decode } from '../codec';

const FILE = fileURLToPath(new URL('../../../../spec/vectors/chat.json', import.meta.url));

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly hex: string;
  readonly expect: 'valid' | { readonly error: string };
}

const cases: Case[] = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as { cases: Case[] }).cases : [];
const decoded = cases.filter((c) => c.rule in CHAT_RESULT_DECODERS);

function bytes(hex: string): Uint8Array {
  return new Uint8Array((hex.match(/../g) ?? []).map((b) => parseInt(b, 16)));
}

function accepts(c: Case): boolean {
  const value = decode(bytes(c.hex), CLIENT_FRAME);
  if (!value.ok) return false;
  const decoder = CHAT_RESULT_DECODERS[c.rule];
  if (!decoder) throw new Error(`no decoder for ${c.rule}`);
  try {
    decoder(value.value);
    return true;
  } catch (e) {
    if (isBadShape(e)) return false;
    throw e;
  }
}

describe('chat vectors', () => {
  it('has result and push cases to run', () => {
    if (cases.length > 0) expect(decoded.length).toBeGreaterThan(10);
  });

  it.each(decoded.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(accepts(c)).toBe(c.expect === 'valid');
  });
});
