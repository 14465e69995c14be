import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, ok, parseMediaId, type Gateway } from '@/protocol';
import { MediaUploadError, type MediaInfo, type UploadOptions } from '@/protocol/media';
import { provideSdk } from '@/services/sdk';

import PhotoPicker from '../PhotoPicker.vue';

const calls: { file: Blob; opts: Omit<UploadOptions, 'token'>; resolve: (i: MediaInfo) => void; reject: (e: unknown) => void }[] = [];
vi.mock('@/components/composer-media/upload', () => ({
  uploadAsMe: (file: Blob, opts: Omit<UploadOptions, 'token'>) =>
    new Promise<MediaInfo>((resolve, reject) => {
      calls.push({ file, opts, resolve, reject });
      opts.signal?.addEventListener('abort', () => reject(new MediaUploadError('aborted', 'cancelled')));
    }),
}));

const ID = `node.test/${'cd'.repeat(32)}`;
function info(kind: MediaInfo['kind']): MediaInfo {
  const media = parseMediaId(ID);
  if (!media.ok) throw new Error('bad');
  return { id: ID, media: media.value, kind, mime: 'image/png', size: 1, created: true };
}

function setup(media: string | null, result: string | null = null) {
  const gw = { state: 'connected', on: () => () => {}, request: () => Promise.resolve(ok({ urls: [null], expires_at: 1 })) };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  const save = vi.fn<(media: string | null) => Promise<string | null>>(() => Promise.resolve(result));
  const w = mount(PhotoPicker, { props: { name: 'Ana', media, save, testid: 'avatar', what: 'profile photo' }, global: { plugins: [pinia] } });
  const pick = async (file: File) => {
    const input = w.get<HTMLInputElement>('[data-testid=avatar-input]');
    Object.defineProperty(input.element, 'files', { value: [file], configurable: true });
    await input.trigger('change');
    await flushPromises();
  };
  return { w, save, pick };
}

const png = () => new File([new Uint8Array(10)], 'me.png', { type: 'image/png' });

describe('PhotoPicker', () => {
  beforeEach(() => {
    calls.length = 0;
    vi.spyOn(URL, 'createObjectURL').mockImplementation(() => 'blob:local');
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
    provideSdk(null);
  });

  it('uploads the chosen image with progress and saves its id', async () => {
    const { w, save, pick } = setup(null);
    expect(w.find('[data-testid=avatar-remove]').exists()).toBe(false);
    await pick(png());
    expect(w.get('[data-testid=avatar-preview]').attributes('src')).toBe('blob:local');
    calls[0]?.opts.onProgress?.(5, 10);
    await flushPromises();
    expect(w.get('[data-testid=avatar-progress]').attributes('value')).toBe('50');
    calls[0]?.resolve(info('image'));
    await flushPromises();
    expect(save).toHaveBeenCalledWith(ID);
    expect(w.get('[data-testid=avatar-saved]').text()).toMatch(/changed/);
    expect(w.find('[data-testid=avatar-progress]').exists()).toBe(false);
  });

  it('refuses what is not an image, before and after the upload', async () => {
    const { w, save, pick } = setup(null);
    await pick(new File(['x'], 'a.txt', { type: 'text/plain' }));
    expect(calls).toHaveLength(0);
    expect(w.get('[data-testid=avatar-error]').text()).toMatch(/Choose an image/);
    await pick(png());
    calls[0]?.resolve(info('file'));
    await flushPromises();
    expect(save).not.toHaveBeenCalled();
    expect(w.get('[data-testid=avatar-error]').text()).toMatch(/not an image/);
  });

  it('cancels an upload, and removes the current photo', async () => {
    const { w, save, pick } = setup(ID);
    await pick(png());
    await w.get('[data-testid=avatar-cancel]').trigger('click');
    await flushPromises();
    expect(save).not.toHaveBeenCalled();
    expect(w.find('[data-testid=avatar-error]').exists()).toBe(false);
    await w.get('[data-testid=avatar-remove]').trigger('click');
    await flushPromises();
    expect(save).toHaveBeenCalledWith(null);
  });

  it('shows why saving failed', async () => {
    const { w, pick } = setup(null, 'You may not change the photo.');
    await pick(png());
    calls[0]?.resolve(info('image'));
    await flushPromises();
    expect(w.get('[data-testid=avatar-error]').text()).toBe('You may not change the photo.');
  });
});
