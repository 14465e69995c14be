import { enableAutoUnmount, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

import MessageItem from '@/components/chat/MessageItem.vue';
import { decodeChatSummary, decodeTimelineItem, parseMediaId, Permissions, type CborMap, type GroupId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';

import { mediaId, settle, setupMedia } from './fakes';

enableAutoUnmount(afterEach);

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test';

function wire(n: number): CborMap {
  const id = parseMediaId(mediaId(n));
  if (!id.ok) throw new Error('bad id');
  return { node: id.value.node, sha256: id.value.sha256 };
}

function setup(body: CborMap, quotedBody?: CborMap) {
  const { pinia } = setupMedia();
  const chats = useChatsStore();
  chats.upsert(
    decodeChatSummary({
      group: G, kind: 'group', name: 'Rust', description: '', visibility: 'private', owner: ANA, members: 2, last_seq: 3,
      read_seq: 3, unread: 0, my_rank: 0xffffffff, my_permissions: Permissions.EVERYONE_DEFAULT, pinned: [],
    }),
  );
  const item = decodeTimelineItem({ seq: 3, id: '$' + 'A'.repeat(43), ts: 1_700_000_000_000, sender: ANA, kind: 'msg.post', body, reactions: [] });
  const quoted = quotedBody ? decodeTimelineItem({ seq: 2, id: '$' + 'C'.repeat(42) + 'A', ts: 1_700_000_000_000, sender: ANA, kind: 'msg.post', body: quotedBody, reactions: [] }) : null;
  return mount(MessageItem, {
    props: { group: G, item, quoted, showName: true, menuOpen: false, highlighted: false, ticks: null, seenCount: null },
    global: { plugins: [pinia] },
    attachTo: document.body,
  });
}

describe('MessageItem attachments', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('shows images in a grid, then voice, audio and files, with the text as the caption below', async () => {
    const w = setup({
      text: 'Holiday!',
      attachments: [
        { media: wire(1), kind: 'image', mime: 'image/jpeg', size: 1000, width: 800, height: 600 },
        { media: wire(2), kind: 'image', mime: 'image/png', size: 1000, width: 600, height: 800 },
        { media: wire(3), kind: 'voice', mime: 'audio/ogg', size: 1000, duration_ms: 3000, waveform: new Uint8Array(32) },
        { media: wire(4), kind: 'audio', mime: 'audio/mpeg', size: 1000, name: 'song.mp3' },
        { media: wire(5), kind: 'file', mime: 'application/octet-stream', size: 1000, name: 'notes.txt' },
      ],
    });
    await settle();
    const section = w.get('[data-testid=attachments]');
    expect(section.attributes('data-count')).toBe('5');
    expect(section.findAll('[data-testid=attachment-image]')).toHaveLength(2);
    expect(section.findAll('[data-testid=voice-player]')).toHaveLength(1);
    expect(section.findAll('[data-testid=audio-player]')).toHaveLength(1);
    expect(section.findAll('[data-testid=file-card]')).toHaveLength(1);
    expect(w.get('[data-testid=message-text]').text()).toBe('Holiday!');
    // The caption comes after the media.
    const html = w.html();
    expect(html.indexOf('data-testid="attachments"')).toBeLessThan(html.indexOf('data-testid="message-text"'));
  });

  it('a message with media and no text has no empty text line; a quote of it names the media', async () => {
    const photo = { media: wire(1), kind: 'image', mime: 'image/jpeg', size: 1000, width: 800, height: 600 };
    const w = setup({ text: 'Nice', reply_to: 2, attachments: [photo] }, { text: '', attachments: [photo, photo] });
    await settle();
    expect(w.get('[data-testid=reply-quote]').text()).toContain('2 photos');
    const bare = setup({ text: '', attachments: [photo] });
    await settle();
    expect(bare.find('[data-testid=message-text]').exists()).toBe(false);
    expect(bare.find('[data-testid=attachment-image]').exists()).toBe(true);
  });

  it('a deleted message shows no media', async () => {
    const w = setup({ text: 'x', attachments: [{ media: wire(1), kind: 'image', mime: 'image/jpeg', size: 1 }] });
    await w.setProps({ item: { ...w.props('item'), deleted: true } });
    expect(w.find('[data-testid=attachments]').exists()).toBe(false);
    expect(w.find('[data-testid=message-deleted]').exists()).toBe(true);
  });
});
