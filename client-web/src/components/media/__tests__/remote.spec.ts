/**
 * Media of another node: it is asked of the user's own node through media.urls like local media
 * (the node signs its own URL for its copy), and when the node gives no URL (null: the fetch
 * from the other node failed or was refused) the component says "Unavailable" instead of a
 * broken picture or an endless spinner.
 */
import { enableAutoUnmount, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import Avatar from '@/components/common/Avatar.vue';
import { formatMediaId, ok, type Attachment, type CborMap, type CborValue, type Result } from '@/protocol';
import { provideSdk } from '@/services/sdk';

import AttachmentGrid from '../AttachmentGrid.vue';
import AudioPlayer from '../AudioPlayer.vue';
import MediaThumb from '../MediaThumb.vue';
import VideoPlayer from '../VideoPlayer.vue';
import VoicePlayer from '../VoicePlayer.vue';
import { settle, setupMedia, SigningGateway } from './fakes';

enableAutoUnmount(afterEach);

/** A media id of another node than the user's (`node.test`). */
const remote = (n: number): string => `other.test/${n.toString(16).padStart(64, '0')}`;

/** Signs URLs like the node, but answers null for the items in `refused` (`id` or `id#thumb`). */
class RemoteGateway extends SigningGateway {
  readonly refused = new Set<string>();

  override request(method: string, params: CborMap = {}): Promise<Result<CborValue, { code: string; message: string }>> {
    if (method !== 'media.urls') return super.request(method, params);
    const items = params.items as CborMap[];
    return super.request(method, params).then((r) => {
      if (!r.ok) return r;
      const urls = ((r.value as CborMap).urls as (string | null)[]).map((u, i) => {
        const it = items[i] as CborMap;
        const id = formatMediaId(it.media as never);
        const key = it.thumb === undefined ? id : `${id}#${String(it.thumb)}`;
        return this.refused.has(key) || this.refused.has(id) ? null : u;
      });
      return ok({ urls, expires_at: this.expiresAt });
    });
  }
}

let gw: RemoteGateway;
let pinia: ReturnType<typeof setupMedia>['pinia'];

beforeEach(() => {
  ({ pinia } = setupMedia());
  gw = new RemoteGateway();
  // Same SDK, with the gateway that refuses some items.
  provideSdk({ auth: undefined as never, gateway: gw as never });
});
afterEach(() => {
  provideSdk(null);
  vi.restoreAllMocks();
  document.body.innerHTML = '';
});

const photo = (n: number): Attachment => ({ media: remote(n), kind: 'image', mime: 'image/png', size: 50_000, width: 1600, height: 1200, blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj' });
const voice: Attachment = { media: remote(2), kind: 'voice', mime: 'audio/webm', size: 9_000, durationMs: 3_000, waveform: new Uint8Array([1, 200, 40, 90]) };
const song: Attachment = { media: remote(3), kind: 'audio', mime: 'audio/ogg', size: 9_000, name: 'song.ogg', durationMs: 3_000 };
const clip: Attachment = { media: remote(4), kind: 'video', mime: 'video/webm', size: 50_000, width: 640, height: 360, durationMs: 2_000, poster: remote(5) };

function thumb(attachment: Attachment) {
  return mount(MediaThumb, { props: { attachment, cssWidth: 300 }, global: { plugins: [pinia] }, attachTo: document.body });
}

describe('media of another node', () => {
  it('is asked of the user’s own node and shown from the URL it signs, like local media', async () => {
    const w = thumb(photo(1));
    await settle();
    expect(gw.calls.flat().map((i) => formatMediaId(i.media as never))).toContain(remote(1));
    expect(w.get('[data-testid=attachment-thumb]').attributes('src')).toMatch(/^\/api\/media\/0+1\/thumb\/320\?/);
    expect(w.find('[data-testid=media-unavailable]').exists()).toBe(false);
  });

  it('a photo the node gives no URL for shows "Unavailable", not a broken image or a spinner', async () => {
    gw.refused.add(remote(1));
    const w = thumb(photo(1));
    await settle();
    await settle();
    expect(w.find('img').exists()).toBe(false);
    expect(w.get('[data-testid=media-unavailable]').text()).toContain('Unavailable');
    expect(w.find('.loading').exists()).toBe(false);
    // The thumbnail was asked, then the original: both refused.
    const asked = gw.calls.flat().map((i) => (i.thumb === undefined ? 'original' : String(i.thumb)));
    expect(asked).toEqual(['320', 'original']);
  });

  it('a photo whose thumbnail is refused shows its original', async () => {
    gw.refused.add(`${remote(1)}#320`);
    const w = thumb(photo(1));
    await settle();
    await settle();
    expect(w.get('[data-testid=attachment-thumb]').attributes('src')).toMatch(/^\/api\/media\/0+1\?/);
    expect(w.find('[data-testid=media-unavailable]').exists()).toBe(false);
  });

  it('a video whose poster is refused says so', async () => {
    gw.refused.add(remote(5));
    const w = thumb(clip);
    await settle();
    expect(w.find('[data-testid=media-unavailable]').exists()).toBe(true);
  });

  it('a voice message the node gives no URL for says "Unavailable" and cannot be played', async () => {
    gw.refused.add(remote(2));
    const w = mount(VoicePlayer, { props: { attachment: voice }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    expect(w.get('[data-testid=media-unavailable]').text()).toBe('Unavailable');
    expect(w.get('[data-testid=voice-play]').attributes('disabled')).toBeDefined();
    expect(w.get('[data-testid=voice-element]').attributes('src')).toBeUndefined();
    await w.get('[data-testid=voice-play]').trigger('click');
    expect(w.find('.loading').exists()).toBe(false);
  });

  it('a voice message of another node plays from the URL the user’s node signs', async () => {
    const w = mount(VoicePlayer, { props: { attachment: voice }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    expect(w.get('[data-testid=voice-element]').attributes('src')).toMatch(/^\/api\/media\/0+2\?/);
    expect(w.find('[data-testid=media-unavailable]').exists()).toBe(false);
    expect(w.get('[data-testid=voice-play]').attributes('disabled')).toBeUndefined();
  });

  it('an audio file and a video the node gives no URL for say "Unavailable"', async () => {
    gw.refused.add(remote(3));
    gw.refused.add(remote(4));
    const a = mount(AudioPlayer, { props: { attachment: song }, global: { plugins: [pinia] }, attachTo: document.body });
    const v = mount(VideoPlayer, { props: { attachment: clip, cssWidth: 320 }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    expect(a.get('[data-testid=media-unavailable]').text()).toBe('Unavailable');
    expect(a.get('[data-testid=audio-play]').attributes('disabled')).toBeDefined();
    expect(v.get('[data-testid=media-unavailable]').text()).toBe('This video is unavailable.');
  });

  it('an avatar of another node shows from the user’s node, and gives way to initials when refused', async () => {
    const shown = mount(Avatar, { props: { name: 'Far Away', media: remote(6) }, global: { plugins: [pinia] } });
    gw.refused.add(remote(7));
    const refused = mount(Avatar, { props: { name: 'Not Here', media: remote(7) }, global: { plugins: [pinia] } });
    await settle();
    expect(shown.get('[data-testid=avatar-img]').attributes('src')).toMatch(/^\/api\/media\/0+6\/thumb\/96\?/);
    expect(refused.find('img').exists()).toBe(false);
    expect(refused.text()).toBe('NH');
  });

  it('the lightbox says a picture the node gives no URL for is unavailable', async () => {
    gw.refused.add(remote(1));
    const w = mount(AttachmentGrid, { props: { items: [photo(1)] }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    await w.get('[data-testid=attachment-image]').trigger('click');
    await settle();
    const box = document.body.querySelector('[data-testid=lightbox]');
    expect(box).not.toBeNull();
    expect(box?.querySelector('[data-testid=lightbox-image]')).toBeNull();
    expect(box?.querySelector('[data-testid=media-unavailable]')?.textContent).toBe('This picture is unavailable.');
  });
});
