/**
 * The media parts of the SDK: `media.urls`, avatars and group photos, attachments in
 * `msgs.post`, attachments and photos in what the node sends back, and the client-side checks.
 */
import { describe, expect, it } from 'vitest';

import {
  ChatClient,
  checkAttachment,
  checkAttachmentInput,
  checkBlurhash,
  checkFileName,
  decodeChatSummary,
  decodeEventBody,
  type Attachment,
  type ChatTransport,
} from '../chat';
import type { CborMap, CborValue } from '../codec';
import type { PushFrame } from '../frames';
import { getMediaUrls, MAX_MEDIA_URL_ITEMS, updateProfile, type ConnectionState, type GatewayError, type PresenceTransport, type Ready } from '../gateway';
import { parseMediaId, type GroupId, type UserId } from '../ids';
import { err, ok, type Result } from '../result';

const NODE = 'node.test';
const HEX_A = 'a'.repeat(64);
const HEX_B = '0123456789abcdef'.repeat(4);
const A = `${NODE}/${HEX_A}`;
const B = `${NODE}/${HEX_B}`;
const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test' as UserId;

/** The wire map of a text media id. */
function wire(text: string): CborMap {
  const id = parseMediaId(text);
  if (!id.ok) throw new Error(text);
  return { node: id.value.node, sha256: id.value.sha256 };
}

function transport(answer: (method: string, params: CborMap) => Result<CborValue, GatewayError>) {
  const sent: { method: string; params: CborMap }[] = [];
  const t: PresenceTransport = {
    request(method, params = {}) {
      sent.push({ method, params });
      return Promise.resolve(answer(method, params));
    },
  };
  return { t, sent };
}

class FakeChat implements ChatTransport {
  state: ConnectionState = 'connected';
  readonly sent: { method: string; params: CborMap }[] = [];
  request(method: string, params: CborMap = {}): Promise<Result<CborValue, GatewayError>> {
    this.sent.push({ method, params });
    return Promise.resolve(ok({ group: G, seq: 9, id: '$' + 'A'.repeat(43) }));
  }
  on(event: 'push' | 'resync' | 'ready', handler: ((f: PushFrame) => void) | ((r: Ready) => void)): () => void {
    void event;
    void handler;
    return () => {};
  }
}

describe('media.urls', () => {
  it('sends wire ids in order and maps the urls back, skipping items that are not ids', async () => {
    const { t, sent } = transport(() => ok({ urls: ['/api/media/a?exp=1&sig=x', null], expires_at: 1_700_000_000_000 }));
    const r = await getMediaUrls(t, [{ media: A, thumb: 320 }, { media: 'not an id' }, { media: B }]);
    expect(sent).toEqual([{ method: 'media.urls', params: { items: [{ media: wire(A), thumb: 320 }, { media: wire(B) }] } }]);
    expect(r).toEqual(ok({ urls: ['/api/media/a?exp=1&sig=x', null, null], expiresAt: 1_700_000_000_000 }));
  });

  it('sends nothing for no valid ids and refuses over-long lists and unknown thumbnail sizes', async () => {
    const { t, sent } = transport(() => ok({ urls: [], expires_at: 1 }));
    expect(await getMediaUrls(t, [])).toEqual(ok({ urls: [], expiresAt: 0 }));
    expect(await getMediaUrls(t, [{ media: 'x' }])).toEqual(ok({ urls: [null], expiresAt: 0 }));
    const many = Array.from({ length: MAX_MEDIA_URL_ITEMS + 1 }, () => ({ media: A }));
    const tooMany = await getMediaUrls(t, many);
    expect(tooMany.ok ? null : tooMany.error.code).toBe('bad_request');
    const badThumb = await getMediaUrls(t, [{ media: A, thumb: 100 }]);
    expect(badThumb.ok ? null : badThumb.error.code).toBe('bad_request');
    expect(sent).toEqual([]);
  });

  it('refuses a reply of the wrong shape or length', async () => {
    const replies: CborMap[] = [{ urls: ['x'], expires_at: 1 }, { urls: [1, 2], expires_at: 1 }, { urls: ['x', null] }];
    for (const reply of replies) {
      const { t } = transport(() => ok(reply));
      const r = await getMediaUrls(t, [{ media: A }, { media: B }]);
      expect(r.ok ? null : r.error.code, JSON.stringify(reply)).toBe('bad_response');
    }
    const { t } = transport(() => err({ code: 'forbidden', message: 'no' }));
    expect(await getMediaUrls(t, [{ media: A }])).toEqual(err({ code: 'forbidden', message: 'no' }));
  });
});

describe('profile.update', () => {
  it('sets, removes and leaves the avatar, and reads it back as text', async () => {
    const { t, sent } = transport(() => ok({ id: ANA, display_name: 'Ana', bio: '', avatar: wire(A) }));
    expect(await updateProfile(t, { avatar: A })).toEqual(ok({ id: ANA, displayName: 'Ana', bio: '', avatar: A }));
    await updateProfile(t, { avatar: null });
    await updateProfile(t, { bio: 'hi' });
    expect(sent.map((s) => s.params)).toEqual([{ avatar: wire(A) }, { avatar: null }, { bio: 'hi' }]);
    const bad = await updateProfile(t, { avatar: 'nope' });
    expect(bad.ok ? null : bad.error.code).toBe('bad_request');
    expect(sent).toHaveLength(3);
  });
});

describe('chat client', () => {
  it('posts attachments as wire maps, with an empty caption allowed', async () => {
    const tr = new FakeChat();
    const client = new ChatClient(tr, { newTxn: () => 't1' });
    const waveform = new Uint8Array(32).fill(7);
    const r = await client.post(G, '', { attachments: [{ media: A, name: 'a.jpg' }, { media: B, voice: true, waveform, durationMs: 1200 }] });
    expect(r.ok).toBe(true);
    expect(tr.sent[0]).toEqual({
      method: 'msgs.post',
      params: {
        txn: 't1',
        group: G,
        text: '',
        attachments: [
          { media: wire(A), name: 'a.jpg' },
          { media: wire(B), voice: true, waveform, duration_ms: 1200 },
        ],
      },
    });
    const bad = await client.post(G, 'x', { attachments: [{ media: 'nope' }] });
    expect(bad.ok ? null : bad.error.code).toBe('bad_request');
    expect(tr.sent).toHaveLength(1);
  });

  it('sets and removes the group photo', async () => {
    const tr = new FakeChat();
    const client = new ChatClient(tr, { newTxn: () => 't' });
    await client.updateGroup(G, { photo: A });
    await client.updateGroup(G, { photo: null });
    await client.updateGroup(G, { name: 'n' });
    expect(tr.sent.map((s) => s.params)).toEqual([
      { txn: 't', group: G, photo: wire(A) },
      { txn: 't', group: G, photo: null },
      { txn: 't', group: G, name: 'n' },
    ]);
  });

  it('reads attachments, photos and avatars as text ids', () => {
    const body = decodeEventBody('msg.post', {
      text: '',
      attachments: [
        { media: wire(A), kind: 'video', mime: 'video/mp4', size: 10, width: 640, height: 360, duration_ms: 2000, poster: wire(B) },
      ],
    });
    expect(body).toEqual({
      kind: 'msg.post',
      text: '',
      mentions: [],
      mentionEveryone: false,
      attachments: [{ media: A, kind: 'video', mime: 'video/mp4', size: 10, width: 640, height: 360, durationMs: 2000, poster: B }],
    });
    expect(decodeEventBody('msg.post', { text: 'x', attachments: [{ media: A, kind: 'image', mime: 'image/png', size: 1 }] }).kind).toBe('unknown');
    expect(decodeEventBody('group.update', { photo: null })).toEqual({ kind: 'group.update', photo: null });
    expect(decodeEventBody('group.update', { photo: wire(A) })).toEqual({ kind: 'group.update', photo: A });
    expect(decodeEventBody('group.update', { name: 'n' })).toEqual({ kind: 'group.update', name: 'n' });
    const s = decodeChatSummary({
      group: G,
      kind: 'group',
      name: 'n',
      description: '',
      visibility: 'private',
      owner: ANA,
      members: 1,
      last_seq: 1,
      read_seq: 1,
      unread: 0,
      my_rank: 0,
      my_permissions: 0,
      pinned: [],
      photo: wire(B),
    });
    expect(s.photo).toBe(B);
  });
});

describe('client-side checks', () => {
  const photo: Attachment = { media: A, kind: 'image', mime: 'image/jpeg', size: 1, width: 1, height: 1, blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj' };

  it('checks file names like the node', () => {
    expect(checkFileName('report 2026.pdf')).toBeNull();
    expect(checkFileName('.hidden')).toBeNull();
    expect(checkFileName('é'.repeat(255))).toBeNull();
    expect(checkFileName('é'.repeat(256))).toBe('name_length');
    expect(checkFileName('')).toBe('name_length');
    for (const bad of ['a/b', 'a\\b', 'a\nb', '\u0085', 'x\u202Egpj.exe', '.', '..', 'a..b']) expect(checkFileName(bad), bad).toBe('name_characters');
  });

  it('checks blurhashes, waveforms, posters and durations', () => {
    expect(checkBlurhash('00TSUA')).toBeNull();
    expect(checkBlurhash('LEHV6nWB2yk8pyo0adR*.7kCMdn')).toBe('blurhash');
    expect(checkAttachment(photo)).toBeNull();
    expect(checkAttachment({ ...photo, width: 0 })).toBe('zero_dimension');
    expect(checkAttachment({ ...photo, mime: '' })).toBe('mime');
    expect(checkAttachment({ ...photo, poster: B })).toBe('unexpected_poster');
    expect(checkAttachment({ ...photo, kind: 'voice' })).toBe('missing_waveform');
    expect(checkAttachment({ ...photo, kind: 'voice', waveform: new Uint8Array(15) })).toBe('waveform_length');
    expect(checkAttachment({ ...photo, waveform: new Uint8Array(16) })).toBe('unexpected_waveform');
    expect(checkAttachmentInput({ media: A })).toBeNull();
    expect(checkAttachmentInput({ media: A, voice: true })).toBe('missing_waveform');
    expect(checkAttachmentInput({ media: A, voice: true, waveform: new Uint8Array(257) })).toBe('waveform_length');
    expect(checkAttachmentInput({ media: A, voice: true, waveform: new Uint8Array(16), poster: B })).toBe('unexpected_poster');
    expect(checkAttachmentInput({ media: A, durationMs: 24 * 3600 * 1000 + 1 })).toBe('duration_too_long');
  });
});
