import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import ChatComposer from '@/components/chat/ChatComposer.vue';
import { AuthClient, decodeChatDetail, decodeChatSummary, ok, parseMediaId, Permissions, type CborMap, type Gateway, type GroupId, type PermissionSet } from '@/protocol';
import { MediaUploadError, type MediaInfo, type UploadOptions } from '@/protocol/media';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

import type * as Upload from '../upload';
import VoiceRecorder from '../VoiceRecorder.vue';

interface Call {
  readonly file: Blob;
  readonly opts: Omit<UploadOptions, 'token'>;
  resolve(info: MediaInfo): void;
  reject(e: unknown): void;
}
const calls: Call[] = [];

vi.mock('../upload', async (importOriginal) => {
  const real = await importOriginal<typeof Upload>();
  return {
    ...real,
    extractPoster: () => Promise.resolve(null),
    uploadAsMe: (file: Blob, opts: Omit<UploadOptions, 'token'>) =>
      new Promise<MediaInfo>((resolve, reject) => {
        calls.push({ file, opts, resolve, reject });
        opts.signal?.addEventListener('abort', () => reject(new MediaUploadError('aborted', 'cancelled')));
      }),
  };
});

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test';
const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

function info(n: number, kind: MediaInfo['kind'] = 'image'): MediaInfo {
  const id = `node.test/${hex(n)}`;
  const media = parseMediaId(id);
  if (!media.ok) throw new Error('bad id');
  return { id, media: media.value, kind, mime: 'x/y', size: 10, created: true };
}

/** The wire form of a media id. */
function wire(n: number) {
  const media = parseMediaId(`node.test/${hex(n)}`);
  if (!media.ok) throw new Error('bad id');
  return { node: 'node.test', sha256: media.value.sha256 };
}

function setup(permissions: PermissionSet = Permissions.EVERYONE_DEFAULT) {
  const gw = {
    state: 'connected',
    sent: [] as { method: string; params: CborMap }[],
    on: () => () => {},
    request(method: string, params: CborMap) {
      this.sent.push({ method, params });
      return Promise.resolve(ok({ group: G, seq: 9, id: '$' + 'A'.repeat(43) }));
    },
  };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore().userId = ANA;
  const chats = useChatsStore();
  const summary = {
    group: G, kind: 'group', name: 'Rust', description: '', visibility: 'private', owner: ANA, members: 1, last_seq: 3,
    read_seq: 3, unread: 0, my_rank: 0xffffffff, my_permissions: permissions, pinned: [],
  };
  const e = chats.upsert(decodeChatSummary(summary));
  e.detail = decodeChatDetail({ chat: summary, members: [{ user: ANA, display_name: 'Ana', roles: [], rank: 0, joined_at: 1, read_seq: 0 }], roles: [] });
  // The composer sits in the chat view, where files can be dropped.
  const view = document.createElement('section');
  view.dataset.testid = 'chat-view';
  document.body.appendChild(view);
  const host = document.createElement('div');
  view.appendChild(host);
  const wrapper = mount(ChatComposer, { props: { group: G, replyTo: null, editing: null }, global: { plugins: [pinia] }, attachTo: host });
  const posts = () => gw.sent.filter((s) => s.method === 'msgs.post');
  return { wrapper, gw, posts, view };
}

async function choose(wrapper: ReturnType<typeof setup>['wrapper'], files: File[]): Promise<void> {
  const input = wrapper.get<HTMLInputElement>('[data-testid=attach-input]');
  Object.defineProperty(input.element, 'files', { value: files, configurable: true });
  await input.trigger('change');
  await flushPromises();
}

const png = (name = 'cat.png') => new File([new Uint8Array(100)], name, { type: 'image/png' });

describe('ChatComposer with attachments', () => {
  beforeEach(() => {
    calls.length = 0;
    vi.spyOn(URL, 'createObjectURL').mockImplementation(() => 'blob:x');
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('sends the text as the caption of the uploaded files; sending waits for the uploads, typing does not', async () => {
    const { wrapper, posts } = setup();
    const send = () => wrapper.get<HTMLButtonElement>('[data-testid=send]').element;
    expect(send().disabled).toBe(true);
    await choose(wrapper, [png(), new File(['%PDF'], 'doc.pdf', { type: 'application/pdf' })]);
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(2);
    const box = wrapper.get<HTMLTextAreaElement>('[data-testid=composer]');
    box.element.value = 'Look at these';
    await box.trigger('input');
    expect(box.element.value).toBe('Look at these');
    expect(send().disabled).toBe(true);
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(posts()).toHaveLength(0);
    expect(wrapper.get('[data-testid=composer-error]').text()).toMatch(/Wait for the uploads/);

    calls[0]?.resolve(info(1));
    await flushPromises();
    expect(send().disabled).toBe(true); // one still uploading
    calls[1]?.resolve(info(2, 'file'));
    await flushPromises();
    expect(send().disabled).toBe(false);
    await box.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]?.params).toMatchObject({
      group: G,
      text: 'Look at these',
      attachments: [
        { media: wire(1), name: 'cat.png' },
        { media: wire(2), name: 'doc.pdf' },
      ],
    });
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(0);
    expect(box.element.value).toBe('');
    expect(wrapper.emitted('sent')).toHaveLength(1);
  });

  it('sends attachments without text, and a cancelled upload is not sent', async () => {
    const { wrapper, posts } = setup();
    await choose(wrapper, [png('a.png'), png('b.png')]);
    await wrapper.findAll('[data-testid=upload-cancel]')[1]?.trigger('click');
    await flushPromises();
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(1);
    calls[0]?.resolve(info(1));
    await flushPromises();
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]?.params.text).toBe('');
    expect(posts()[0]?.params.attachments).toEqual([{ media: wire(1), name: 'a.png' }]);
  });

  it('a failed upload blocks sending until it is retried or removed', async () => {
    const { wrapper, posts } = setup();
    await choose(wrapper, [png()]);
    calls[0]?.reject(new MediaUploadError('quota_exceeded', 'This upload would go over your storage quota.', 403));
    await flushPromises();
    expect(wrapper.get('[data-testid=upload-error]').text()).toMatch(/quota/);
    expect(wrapper.get<HTMLButtonElement>('[data-testid=send]').element.disabled).toBe(true);
    await wrapper.get('[data-testid=upload-retry]').trigger('click');
    await flushPromises();
    calls[1]?.resolve(info(5));
    await flushPromises();
    expect(wrapper.get<HTMLButtonElement>('[data-testid=send]').element.disabled).toBe(false);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(posts()[0]?.params.attachments).toEqual([{ media: wire(5), name: 'cat.png' }]);
  });

  it('attaches pasted files instead of pasting, and files dropped on the chat view', async () => {
    const { wrapper, view } = setup();
    const box = wrapper.get('[data-testid=composer]');
    const paste = new Event('paste', { cancelable: true, bubbles: true });
    Object.defineProperty(paste, 'clipboardData', { value: { files: [png('screenshot.png')] } });
    box.element.dispatchEvent(paste);
    await flushPromises();
    expect(paste.defaultPrevented).toBe(true);
    expect(wrapper.get('[data-testid=upload-name]').text()).toBe('screenshot.png');

    // plain text pastes normally, and so does text from an office app (with a picture of itself)
    const text = new Event('paste', { cancelable: true, bubbles: true });
    Object.defineProperty(text, 'clipboardData', { value: { files: [], types: ['text/plain'] } });
    box.element.dispatchEvent(text);
    expect(text.defaultPrevented).toBe(false);
    const office = new Event('paste', { cancelable: true, bubbles: true });
    Object.defineProperty(office, 'clipboardData', { value: { files: [png('image.png')], types: ['text/plain', 'text/html', 'text/rtf', 'Files'] } });
    box.element.dispatchEvent(office);
    expect(office.defaultPrevented).toBe(false);
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(1);

    const dt = { types: ['Files'], files: [png('dropped.png')], dropEffect: 'none' };
    const enter = new Event('dragenter', { cancelable: true, bubbles: true });
    Object.defineProperty(enter, 'dataTransfer', { value: dt });
    view.dispatchEvent(enter);
    await nextTick();
    expect(document.querySelector('[data-testid=drop-zone]')).not.toBeNull();
    const drop = new Event('drop', { cancelable: true, bubbles: true });
    Object.defineProperty(drop, 'dataTransfer', { value: dt });
    view.dispatchEvent(drop);
    await flushPromises();
    expect(drop.defaultPrevented).toBe(true);
    expect(document.querySelector('[data-testid=drop-zone]')).toBeNull();
    expect(wrapper.findAll('[data-testid=upload-name]').map((n) => n.text())).toEqual(['screenshot.png', 'dropped.png']);
  });

  it('posts a recorded voice message on its own once it is uploaded', async () => {
    const { wrapper, posts } = setup();
    const waveform = new Uint8Array(64).fill(100);
    wrapper.findComponent(VoiceRecorder).vm.$emit('recorded', { blob: new Blob(['opus'], { type: 'audio/webm' }), mime: 'audio/webm', durationMs: 3_200, waveform });
    await flushPromises();
    expect(wrapper.get('[data-testid=upload-item]').attributes('data-kind')).toBe('voice');
    calls[0]?.resolve(info(9, 'audio'));
    await flushPromises();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]?.params).toMatchObject({ text: '', attachments: [{ media: wire(9), voice: true, waveform, duration_ms: 3_200 }] });
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(0);
  });

  it('offers attachments and voice with send_media only, and the mic only while the message is empty', async () => {
    vi.stubGlobal('MediaRecorder', class {});
    Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia: () => Promise.reject(new Error('unused')) }, configurable: true });
    try {
      const allowed = setup();
      expect(allowed.wrapper.find('[data-testid=attach-button]').exists()).toBe(true);
      expect(allowed.wrapper.find('[data-testid=voice-record]').exists()).toBe(true);
      const box = allowed.wrapper.get<HTMLTextAreaElement>('[data-testid=composer]');
      box.element.value = 'hi';
      await box.trigger('input');
      expect(allowed.wrapper.find('[data-testid=voice-record]').exists()).toBe(false);
      allowed.wrapper.unmount();
      document.body.innerHTML = '';

      const { wrapper } = setup(Permissions.fromNames(['send_messages']));
      expect(wrapper.find('[data-testid=attach-button]').exists()).toBe(false);
      expect(wrapper.find('[data-testid=voice-record]').exists()).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
