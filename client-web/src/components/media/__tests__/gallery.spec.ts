import { enableAutoUnmount, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import type { Attachment } from '@/protocol';
import { provideSdk } from '@/services/sdk';

import AttachmentGrid from '../AttachmentGrid.vue';
import FileCard from '../FileCard.vue';
import ImageLightbox from '../ImageLightbox.vue';
import { hexOf, image, mediaId, settle, setupMedia, type SigningGateway } from './fakes';

enableAutoUnmount(afterEach);

let gw: SigningGateway;
let pinia: ReturnType<typeof setupMedia>['pinia'];

beforeEach(() => {
  ({ gw, pinia } = setupMedia());
});
afterEach(() => {
  provideSdk(null);
  document.body.innerHTML = '';
  document.body.style.overflow = '';
});

const lightbox = (): HTMLElement | null => document.body.querySelector('[data-testid=lightbox]');
const inBox = <T extends HTMLElement = HTMLElement>(id: string): T | null => document.body.querySelector<T>(`[data-testid=lightbox] [data-testid=${id}]`);

function key(el: Element, k: string, extra: KeyboardEventInit = {}): void {
  el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...extra }));
}

describe('AttachmentGrid', () => {
  it('shows each image as a tile with its blurhash, then its thumbnail, all signed in one request', async () => {
    const items = [image(1), image(2, { width: 900, height: 1600 }), image(3)];
    const w = mount(AttachmentGrid, { props: { items }, global: { plugins: [pinia] }, attachTo: document.body });
    const tiles = w.findAll('[data-testid=attachment-image]');
    expect(tiles).toHaveLength(3);
    expect(w.findAll('[data-testid=blurhash]')).toHaveLength(3);
    await settle();
    expect(gw.calls).toHaveLength(1);
    expect(gw.calls[0]?.map((it) => it.thumb)).toEqual([320, 320, 320]);
    const thumbs = w.findAll<HTMLImageElement>('[data-testid=attachment-thumb]');
    expect(thumbs.map((t) => t.attributes('src'))).toEqual([1, 2, 3].map((n) => `/api/media/${hexOf(n)}/thumb/320?exp=${gw.expiresAt}&sig=v1`));
    // The placeholder goes once the thumbnail has loaded.
    await thumbs[0]?.trigger('load');
    expect(tiles[0]?.find('[data-testid=blurhash]').exists()).toBe(false);
    expect(tiles[1]?.find('[data-testid=blurhash]').exists()).toBe(true);
    // Rows keep the aspect ratio: flex rows with an aspect-ratio, tiles with their share.
    const rows = w.findAll('[data-testid=attachment-row]');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]?.attributes('style')).toContain('aspect-ratio');
    expect(tiles[0]?.attributes('aria-label')).toBe('Open image 1 of 3');
  });

  it('a lone image gets the 1280 thumbnail when shown large, and keeps its shape', async () => {
    Object.defineProperty(window, 'devicePixelRatio', { configurable: true, value: 2 });
    try {
      const w = mount(AttachmentGrid, { props: { items: [image(1)] }, global: { plugins: [pinia] } });
      await settle();
      expect(gw.calls[0]?.[0]?.thumb).toBe(1280);
      expect(w.get('[data-testid=attachment-row]').attributes('style')).toContain('aspect-ratio: 1.333');
    } finally {
      Object.defineProperty(window, 'devicePixelRatio', { configurable: true, value: 1 });
    }
  });

  it('a thumbnail that fails is signed again once, then the original is loaded', async () => {
    const w = mount(AttachmentGrid, { props: { items: [image(1, { width: 4000, height: 3000 })] }, global: { plugins: [pinia] } });
    await settle();
    const thumb = (): string | undefined => w.find('[data-testid=attachment-thumb]').attributes('src');
    expect(thumb()).toContain('/thumb/');
    gw.version = 2;
    await w.get('[data-testid=attachment-thumb]').trigger('error');
    await settle();
    expect(thumb()).toContain('/thumb/');
    expect(thumb()).toContain('sig=v2');
    // The fresh thumbnail URL fails too: the original is loaded instead.
    await w.get('[data-testid=attachment-thumb]').trigger('error');
    await settle();
    expect(thumb()).toBe(`/api/media/${hexOf(1)}?exp=${gw.expiresAt}&sig=v2`);
  });

  it('a lone video plays in place; in a mosaic a video tile shows its duration and opens the viewer', async () => {
    const video: Attachment = { media: mediaId(7), kind: 'video', mime: 'video/mp4', size: 1, width: 1280, height: 720, durationMs: 75_000, poster: mediaId(8) };
    const lone = mount(AttachmentGrid, { props: { items: [video] }, global: { plugins: [pinia] } });
    expect(lone.find('[data-testid=video-player]').exists()).toBe(true);
    const mixed = mount(AttachmentGrid, { props: { items: [image(1), video] }, global: { plugins: [pinia] }, attachTo: document.body });
    const tile = mixed.get('[data-testid=attachment-video]');
    expect(tile.text()).toContain('1:15');
    await tile.trigger('click');
    await settle();
    expect(lightbox()).not.toBeNull();
    expect(inBox('video-player')).not.toBeNull();
  });
});

describe('ImageLightbox', () => {
  it('opens on the clicked image with the original, goes next/previous with buttons and arrows, closes on Escape', async () => {
    const items = [image(1), image(2), image(3, { name: 'beach.jpg' })];
    const w = mount(AttachmentGrid, { props: { items }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    const tiles = w.findAll('[data-testid=attachment-image]');
    await tiles[1]?.trigger('click');
    await settle();
    const box = lightbox();
    expect(box).not.toBeNull();
    expect(box?.getAttribute('role')).toBe('dialog');
    expect(box?.getAttribute('aria-modal')).toBe('true');
    expect(inBox('lightbox-counter')?.textContent).toBe('2 / 3');
    expect(inBox<HTMLImageElement>('lightbox-image')?.getAttribute('src')).toBe(`/api/media/${hexOf(2)}?exp=${gw.expiresAt}&sig=v1`);
    expect(document.activeElement).toBe(inBox('lightbox-close'));
    expect(document.body.style.overflow).toBe('hidden');

    inBox('lightbox-next')?.click();
    await settle();
    expect(inBox('lightbox-counter')?.textContent).toBe('3 / 3');
    expect(inBox<HTMLButtonElement>('lightbox-next')?.disabled).toBe(true);
    expect(inBox<HTMLImageElement>('lightbox-image')?.getAttribute('src')).toContain(hexOf(3));
    // Download: the original with dl=1 and its name.
    expect(inBox('lightbox-download')?.getAttribute('href')).toBe(`/api/media/${hexOf(3)}?exp=${gw.expiresAt}&sig=v1&dl=1&name=beach.jpg`);

    key(box!, 'ArrowLeft');
    await nextTick();
    key(box!, 'ArrowLeft');
    await nextTick();
    expect(inBox('lightbox-counter')?.textContent).toBe('1 / 3');
    expect(inBox<HTMLButtonElement>('lightbox-prev')?.disabled).toBe(true);
    inBox('lightbox-prev')?.click();
    await nextTick();
    expect(inBox('lightbox-counter')?.textContent).toBe('1 / 3');

    key(box!, 'Escape');
    await nextTick();
    expect(lightbox()).toBeNull();
    expect(document.body.style.overflow).toBe('');
    // Focus returns to the tile of the image last shown.
    expect(document.activeElement).toBe(tiles[0]?.element);
  });

  it('zooms with the buttons, the keys, the wheel and a double-click, and resets on the next image', async () => {
    const w = mount(ImageLightbox, { props: { items: [image(1), image(2)], start: 0 }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    const picture = (): HTMLElement | null => inBox('lightbox-picture');
    const scale = (): number => Number(/scale\(([\d.]+)\)/.exec(picture()?.style.transform ?? '')?.[1] ?? NaN);
    expect(scale()).toBe(1);
    expect(inBox<HTMLButtonElement>('lightbox-zoom-out')?.disabled).toBe(true);
    inBox('lightbox-zoom-in')?.click();
    await nextTick();
    expect(scale()).toBe(1.5);
    expect(inBox('lightbox-zoom-level')?.textContent).toBe('150%');
    key(lightbox()!, '+');
    await nextTick();
    expect(scale()).toBe(2.25);
    key(lightbox()!, '-');
    await nextTick();
    expect(scale()).toBe(1.5);
    key(lightbox()!, '0');
    await nextTick();
    expect(scale()).toBe(1);
    picture()?.parentElement?.dispatchEvent(new WheelEvent('wheel', { deltaY: -200, bubbles: true, cancelable: true }));
    await nextTick();
    expect(scale()).toBeGreaterThan(1);
    picture()?.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    await nextTick();
    expect(scale()).toBe(1);
    picture()?.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    await nextTick();
    expect(scale()).toBe(2.5);
    key(lightbox()!, 'ArrowRight');
    await nextTick();
    expect(scale()).toBe(1);
    w.unmount();
  });

  it('keeps focus inside: Tab from the last control goes to the first, Shift+Tab back', async () => {
    mount(ImageLightbox, { props: { items: [image(1), image(2)], start: 0 }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    const box = lightbox()!;
    const controls = [...box.querySelectorAll<HTMLElement>('button:not([disabled]), a[href]')];
    const first = controls[0]!;
    const last = controls[controls.length - 1]!;
    last.focus();
    key(last, 'Tab');
    expect(document.activeElement).toBe(first);
    key(first, 'Tab', { shiftKey: true });
    expect(document.activeElement).toBe(last);
    for (const c of controls) expect(c.getAttribute('aria-label')).toBeTruthy();
  });

  it('emits close with the index shown when the close button is pressed', async () => {
    const w = mount(ImageLightbox, { props: { items: [image(1), image(2)], start: 1 }, global: { plugins: [pinia] }, attachTo: document.body });
    await settle();
    inBox('lightbox-close')?.click();
    expect(w.emitted('close')).toEqual([[1]]);
  });
});

describe('FileCard', () => {
  it('shows an icon by type, the name, a human size and a download link with dl=1&name=', async () => {
    const file: Attachment = { media: mediaId(5), kind: 'file', mime: 'application/octet-stream', size: 2_621_440, name: 'Q3 report.pdf' };
    const w = mount(FileCard, { props: { attachment: file }, global: { plugins: [pinia] } });
    await settle();
    expect(w.get('[data-testid=file-card]').attributes('data-type')).toBe('pdf');
    expect(w.get('[data-testid=file-name]').text()).toBe('Q3 report.pdf');
    expect(w.get('[data-testid=file-size]').text()).toBe('2.5 MB · PDF document');
    const link = w.get('[data-testid=file-download]');
    expect(link.attributes('href')).toBe(`/api/media/${hexOf(5)}?exp=${gw.expiresAt}&sig=v1&dl=1&name=Q3%20report.pdf`);
    expect(link.attributes('download')).toBe('Q3 report.pdf');
    expect(link.attributes('aria-label')).toBe('Download Q3 report.pdf (2.5 MB)');
  });

  it('signs the link again when clicked after it expired', async () => {
    const file: Attachment = { media: mediaId(5), kind: 'file', mime: 'application/octet-stream', size: 10, name: 'a.txt' };
    gw.expiresAt = Date.now() + 60_000; // inside the 5-minute margin: stale at once
    const w = mount(FileCard, { props: { attachment: file }, global: { plugins: [pinia] } });
    await settle();
    gw.version = 2;
    gw.expiresAt = Date.now() + 3_600_000;
    const assign = vi.fn();
    const location = window.location;
    Object.defineProperty(window, 'location', { configurable: true, value: { ...location, assign } });
    try {
      await w.get('[data-testid=file-download]').trigger('click');
      await settle();
      expect(assign).toHaveBeenCalledWith(expect.stringContaining('sig=v2&dl=1&name=a.txt'));
    } finally {
      Object.defineProperty(window, 'location', { configurable: true, value: location });
    }
  });
});
