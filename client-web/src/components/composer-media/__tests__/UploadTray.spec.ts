import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';

import { MediaUploadError, type MediaInfo, type UploadOptions } from '@/protocol/media';
import { parseMediaId } from '@/protocol';

import UploadTray from '../UploadTray.vue';
import { cleanName, toInput, useUploadQueue, type UploadItem, type Uploader } from '../useUploadQueue';

const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

function infoFor(n: number, kind: MediaInfo['kind'] = 'image'): MediaInfo {
  const id = `node.test/${hex(n)}`;
  const media = parseMediaId(id);
  if (!media.ok) throw new Error('bad id');
  return { id, media: media.value, kind, mime: kind === 'image' ? 'image/png' : 'application/octet-stream', size: 10, created: true };
}

interface Call {
  readonly file: Blob;
  readonly opts: Omit<UploadOptions, 'token'>;
  resolve(info: MediaInfo): void;
  reject(e: unknown): void;
  aborted: boolean;
}

function fakeUploader() {
  const calls: Call[] = [];
  const upload: Uploader = (file, opts) =>
    new Promise<MediaInfo>((resolve, reject) => {
      const call: Call = { file, opts, resolve, reject, aborted: false };
      calls.push(call);
      opts.signal?.addEventListener('abort', () => {
        call.aborted = true;
        reject(new MediaUploadError('aborted', 'The upload was cancelled.'));
      });
    });
  return { upload, calls };
}

function harness(upload: Uploader, poster: (f: Blob) => Promise<Blob | null> = () => Promise.resolve(null)) {
  const done: UploadItem[] = [];
  let api!: ReturnType<typeof useUploadQueue>;
  const Host = defineComponent({
    setup() {
      api = useUploadQueue({ upload, poster, onDone: (i) => done.push(i) });
      return () =>
        h(UploadTray, {
          items: api.items.value,
          onCancel: (k: string) => api.remove(k),
          onRetry: (k: string) => api.retry(k),
          onRemove: (k: string) => api.remove(k),
        });
    },
  });
  const wrapper = mount(Host);
  return { wrapper, api: () => api, done };
}

const file = (name: string, size: number, type: string) => new File([new Uint8Array(size)], name, { type });

describe('UploadTray with the upload queue', () => {
  let urls = 0;
  beforeEach(() => {
    urls = 0;
    vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:preview-${++urls}`);
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
  });
  afterEach(() => vi.restoreAllMocks());

  it('shows one row per file with a preview for images, the name, the size and a progress bar that advances', async () => {
    const { upload, calls } = fakeUploader();
    const { wrapper, api } = harness(upload);
    api().add([file('cat.png', 2_621_440, 'image/png'), file('notes.pdf', 1200, 'application/pdf')]);
    await flushPromises();
    const rows = wrapper.findAll('[data-testid=upload-item]');
    expect(rows).toHaveLength(2);
    expect(rows[0]?.attributes('data-status')).toBe('uploading');
    expect(rows[0]?.get('[data-testid=upload-thumb]').attributes('src')).toBe('blob:preview-1');
    expect(rows[1]?.find('[data-testid=upload-thumb]').exists()).toBe(false); // a PDF gets an icon
    expect(rows[0]?.get('[data-testid=upload-name]').text()).toBe('cat.png');
    expect(rows[0]?.get('[data-testid=upload-size]').text()).toBe('2.5 MB');
    expect(rows[1]?.get('[data-testid=upload-size]').text()).toBe('1.2 KB');
    expect(calls.map((c) => c.opts.name)).toEqual(['cat.png', 'notes.pdf']);

    const bar = () => wrapper.findAll('[data-testid=upload-progress]')[0]?.element as HTMLProgressElement;
    expect(Number(bar().getAttribute('value'))).toBe(0);
    calls[0]?.opts.onProgress?.(1_000_000, 2_500_000);
    await flushPromises();
    expect(Number(bar().getAttribute('value'))).toBe(40);
    expect(wrapper.findAll('[data-testid=upload-status]')[0]?.text()).toBe('40%');
    calls[0]?.resolve(infoFor(1));
    await flushPromises();
    expect(wrapper.findAll('[data-testid=upload-item]')[0]?.attributes('data-status')).toBe('done');
    expect(api().ready.value).toBe(false); // the PDF is still uploading
    calls[1]?.resolve(infoFor(2, 'file'));
    await flushPromises();
    expect(api().ready.value).toBe(true);
    expect(api().attachments().inputs).toEqual([
      { media: infoFor(1).id, name: 'cat.png' },
      { media: infoFor(2).id, name: 'notes.pdf' },
    ]);
  });

  it('cancel aborts the request and removes the row (and its preview)', async () => {
    const { upload, calls } = fakeUploader();
    const { wrapper, api, done } = harness(upload);
    api().add([file('big.png', 40_000_000, 'image/png')]);
    await flushPromises();
    calls[0]?.opts.onProgress?.(1_000, 40_000_000);
    await wrapper.get('[data-testid=upload-cancel]').trigger('click');
    await flushPromises();
    expect(calls[0]?.aborted).toBe(true);
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(0);
    expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:preview-1');
    expect(done).toEqual([]);
    expect(api().items.value).toEqual([]);
  });

  it('shows a failure with its message; retry uploads again, remove drops it', async () => {
    const { upload, calls } = fakeUploader();
    const { wrapper, api } = harness(upload);
    api().add([file('huge.mov', 300, 'video/quicktime'), file('b.txt', 3, 'text/plain')]);
    await flushPromises();
    calls[0]?.reject(new MediaUploadError('too_large', 'The file is larger than this node accepts.', 413));
    await flushPromises();
    const row = wrapper.findAll('[data-testid=upload-item]')[0];
    expect(row?.attributes('data-status')).toBe('error');
    expect(row?.get('[data-testid=upload-error]').text()).toBe('The file is larger than this node accepts.');
    expect(row?.find('[data-testid=upload-cancel]').exists()).toBe(false);
    expect(api().failed.value).toBe(true);

    await row?.get('[data-testid=upload-retry]').trigger('click');
    await flushPromises();
    expect(calls).toHaveLength(3);
    expect(calls[2]?.file).toBe(calls[0]?.file);
    expect(wrapper.findAll('[data-testid=upload-item]')[0]?.attributes('data-status')).toBe('uploading');
    calls[2]?.reject(new Error('boom'));
    await flushPromises();
    await wrapper.findAll('[data-testid=upload-item]')[0]?.get('[data-testid=upload-remove]').trigger('click');
    expect(wrapper.findAll('[data-testid=upload-item]')).toHaveLength(1);
    expect(wrapper.get('[data-testid=upload-name]').text()).toBe('b.txt');
  });

  it('takes at most 10 attachments per message', async () => {
    const { upload } = fakeUploader();
    const { api } = harness(upload);
    const left = api().add(Array.from({ length: 12 }, (_, i) => file(`f${i}.txt`, 1, 'text/plain')));
    expect(left).toBe(2);
    expect(api().items.value).toHaveLength(10);
    expect(api().add([file('more.txt', 1, 'text/plain')])).toBe(1);
  });

  it('uploads a poster frame for a video and sends it with the attachment', async () => {
    const { upload, calls } = fakeUploader();
    const poster = new Blob(['jpeg'], { type: 'image/jpeg' });
    const { api, done } = harness(upload, () => Promise.resolve(poster));
    api().add([file('clip.webm', 5000, 'video/webm')]);
    await flushPromises();
    calls[0]?.resolve(infoFor(7, 'video'));
    await flushPromises();
    expect(calls[1]?.file).toBe(poster);
    expect(api().items.value[0]?.status).toBe('uploading');
    expect(api().items.value[0]?.preview).toBe('blob:preview-1');
    calls[1]?.resolve(infoFor(8, 'image'));
    await flushPromises();
    expect(done).toHaveLength(1);
    expect(api().attachments().inputs).toEqual([{ media: infoFor(7).id, name: 'clip.webm', poster: infoFor(8).id }]);
  });

  it('describes a voice message by its length and sends its waveform and duration', async () => {
    const { upload, calls } = fakeUploader();
    const { wrapper, api, done } = harness(upload);
    const waveform = new Uint8Array(32).fill(9);
    api().add([new Blob(['opus'], { type: 'audio/webm' })], { waveform, durationMs: 65_000 });
    await flushPromises();
    expect(wrapper.get('[data-testid=upload-item]').attributes('data-kind')).toBe('voice');
    expect(wrapper.get('[data-testid=upload-name]').text()).toBe('Voice message, 1:05');
    expect(calls[0]?.opts.name).toBeUndefined();
    expect(api().attachable.value).toEqual([]); // not part of the next text message
    calls[0]?.resolve(infoFor(3, 'audio'));
    await flushPromises();
    expect(done).toHaveLength(1);
    expect(toInput(done[0] as UploadItem)).toEqual({ media: infoFor(3).id, voice: true, waveform, durationMs: 65_000 });
  });
});

describe('cleanName', () => {
  it('removes what the node refuses in a name', () => {
    expect(cleanName('a/b\\c.png')).toBe('a_b_c.png');
    expect(cleanName('x\u0000y\u001f.txt')).toBe('xy.txt');
    expect(cleanName('evil\u202etxt.exe')).toBe('eviltxt.exe');
    expect(cleanName('a\u0085b\u2066.png')).toBe('ab.png');
    expect(cleanName('..secret...txt')).toBe('.secret.txt');
    const long = cleanName(`${'n'.repeat(300)}.jpeg`);
    expect(Array.from(long)).toHaveLength(255);
    expect(long.endsWith('.jpeg')).toBe(true);
  });
});
