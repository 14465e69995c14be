// @vitest-environment node
/** Identifier rules, ported from protocol/src/ids/tests.rs. */
import { describe, expect, it } from 'vitest';

import {
  eventIdBytes,
  eventIdFromBytes,
  formatMediaId,
  localPart,
  nodeHost,
  nodeOf,
  nodePort,
  parseEventId,
  parseGroupId,
  parseHandle,
  parseMediaId,
  parseNodeName,
  parseUserId,
  type NodeName,
} from '../ids';
import type { IdError } from '../errors';
import type { Result } from '../result';

const value = <T>(r: Result<T, IdError>): T => {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
const error = <T>(r: Result<T, IdError>): IdError | undefined => (r.ok ? undefined : r.error);

describe('node names', () => {
  it('accepts DNS names, canonical IP addresses and ports', () => {
    for (const good of [
      'chat.example.org',
      'localhost',
      'a-b.c0',
      '127.0.0.1',
      '127.0.0.1:7801',
      '[::1]',
      '[::1]:7801',
      '[2001:db8::1]:443',
      '[::ffff:1.2.3.4]',
      '[::]',
      '[1:0:0:2::3]',
      '[1::2:0:0:3]',
      '[1::2:0:0:3:4]',
      'x.y:65535',
    ]) {
      expect(value(parseNodeName(good))).toBe(good);
    }
  });

  it('refuses everything else', () => {
    for (const bad of [
      '',
      'Chat.example.org',
      'chat..org',
      '-chat.org',
      'chat-.org',
      'chat.org.',
      'chat_org',
      'chat.org:0',
      'chat.org:65536',
      'chat.org:07801',
      'chat.org:',
      'chat.org:port',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3',
      '[::1',
      '[::1]x',
      '[0:0::1]',
      '[::0:1]',
      '[1::2:0:0:0:3]',
      '[1:0:0:2::3:4]',
      '[1:0:2:3:4:5:6::]',
      '[::1.2.3.4]',
      '[zz::1]',
      '[::FFFF:1.2.3.4]',
      '[1:2:3:4:5:6:7:8:9]',
      'a b',
      'é.org',
      'a'.repeat(64),
      `${'a.'.repeat(130)}org`,
    ]) {
      expect(error(parseNodeName(bad))?.kind, bad).toMatch(/InvalidNode|TooLong/);
    }
    expect(error(parseNodeName('a'.repeat(256)))).toEqual({ kind: 'TooLong', max: 255 });
  });

  it('splits host and port', () => {
    const node = value(parseNodeName('[::1]:7801'));
    expect([nodeHost(node), nodePort(node)]).toEqual(['[::1]', 7801]);
    const plain = value(parseNodeName('chat.example.org'));
    expect([nodeHost(plain), nodePort(plain)]).toEqual(['chat.example.org', undefined]);
  });
});

describe('qualified ids', () => {
  it('parses users', () => {
    const user = value(parseUserId('@alice:chat.example.org'));
    expect([localPart(user), nodeOf(user)]).toEqual(['alice', 'chat.example.org']);
    expect(value(parseUserId('@bo.b-1_x:127.0.0.1:7800'))).toBe('@bo.b-1_x:127.0.0.1:7800');
    const cases: Array<[string, IdError]> = [
      ['alice:node', { kind: 'MissingSigil', expected: '@' }],
      ['@alice', { kind: 'MissingNode' }],
      ['@al:node', { kind: 'InvalidUserName' }],
      ['@Alice:node', { kind: 'InvalidUserName' }],
      ['@alice!:node', { kind: 'InvalidUserName' }],
      [`@${'a'.repeat(33)}:node`, { kind: 'InvalidUserName' }],
      ['@alice:Node', { kind: 'InvalidNode', reason: "DNS labels hold only a-z, 0-9 and '-' (lowercase)" }],
    ];
    for (const [bad, want] of cases) expect(error(parseUserId(bad)), bad).toEqual(want);
  });

  it('parses groups', () => {
    expect(nodeOf(value(parseGroupId('!k3x9q2:chat.example.org')))).toBe('chat.example.org' as NodeName);
    for (const bad of ['!k3x9:chat.org', '!K3X9Q2:chat.org', '!k3x9q2-:chat.org', `!${'a'.repeat(33)}:n`]) {
      expect(error(parseGroupId(bad)), bad).toEqual({ kind: 'InvalidGroupLocal' });
    }
    expect(error(parseGroupId('#k3x9q2:chat.org'))).toEqual({ kind: 'MissingSigil', expected: '!' });
  });

  it('parses handles', () => {
    expect(localPart(value(parseHandle('#rustaceans:chat.example.org')))).toBe('rustaceans');
    expect(parseHandle('#_ab:n').ok).toBe(true);
    expect(parseHandle(`#a${'b'.repeat(50)}:n`).ok).toBe(true);
    for (const bad of ['#ab:n', '#1abc:n', '#Abc:n', '#ab-c:n', `#a${'b'.repeat(51)}:n`, '#abc\n:n']) {
      expect(error(parseHandle(bad)), bad).toEqual({ kind: 'InvalidHandle' });
    }
  });
});

describe('event ids', () => {
  it('round-trips 32 bytes through the text form', () => {
    const hash = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 3);
    const id = eventIdFromBytes(hash);
    expect(id).toHaveLength(44);
    expect(value(parseEventId(id))).toBe(id);
    expect(eventIdBytes(id)).toEqual(hash);
    // SHA-256 of "abc", base64url.
    expect(eventIdFromBytes(Uint8Array.from(Buffer.from('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=', 'base64')))).toBe(
      '$ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0',
    );
  });

  it('refuses other forms', () => {
    for (const bad of ['', '$', '$abc', `$${'A'.repeat(43)}A`, `$${'+'.repeat(43)}`, `$${'A'.repeat(42)}B`]) {
      expect(parseEventId(bad).ok, bad).toBe(false);
    }
  });
});

describe('media ids', () => {
  it('parses and prints the text form', () => {
    const text = `chat.example.org/${'ab'.repeat(32)}`;
    const media = value(parseMediaId(text));
    expect(media.sha256).toEqual(new Uint8Array(32).fill(0xab));
    expect(formatMediaId(media)).toBe(text);
    for (const bad of ['chat.example.org', `chat.example.org/${'AB'.repeat(32)}`, `chat.example.org/${'ab'.repeat(31)}`]) {
      expect(error(parseMediaId(bad)), bad).toEqual({ kind: 'InvalidMediaId' });
    }
  });
});
