// The layout at desktop and phone width, with screenshots of the main screens written to
// e2e/screenshots/ (git-ignored) for people to look at. At 1920×1080 the app fills the window
// (≥ 95 % of its width), a short chat sits at the bottom by the composer, the chat list is
// resized by dragging its edge and keeps that width across a reload, the theme follows the
// system until one is picked (and again after "System"), and keyboard focus shows a ring. At
// 390×844 there is one pane at a time (the list, or the chat with a back button) and nothing
// scrolls sideways.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { message, waitUntil } from './chat-support.mjs';
import { groupScene, useScheme } from './layout-support.mjs';

export const name = 'layout: fills 1920 px, one pane at 390 px, resizable list, theme follows the system; screenshots';
export const needs = 'node';

const shots = fileURLToPath(new URL('../screenshots/', import.meta.url));

/** @param {import('playwright-core').Page} page @param {string} file */
async function shoot(page, file) {
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${shots}${file}.png` });
}

/** @param {import('playwright-core').Page} page */
function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  await mkdir(shots, { recursive: true });
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // Signed out, both widths.
  const browser = page.context().browser();
  if (!browser) throw new Error('no browser');
  const guest = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  try {
    const login = await guest.newPage();
    await login.goto(`${baseUrl}/login`);
    await login.getByTestId('login-form').waitFor();
    await shoot(login, 'desktop-login');
    await login.setViewportSize({ width: 390, height: 844 });
    await shoot(login, 'phone-login');
    assert.ok((await horizontalOverflow(login)) <= 0, 'the login page scrolls sideways at 390 px');
  } finally {
    await guest.close();
  }

  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.emulateMedia({ colorScheme: 'light' });
  const { other, handle, groupName } = await groupScene(page, baseUrl);
  try {
    // The app fills the window.
    const width = await page.getByTestId('app-root').evaluate((el) => el.getBoundingClientRect().width);
    assert.ok(width >= 0.95 * 1920, `the app is ${width}px wide in a 1920px window`);
    const layout = await page.getByTestId('chats-layout').evaluate((el) => el.getBoundingClientRect().width);
    assert.ok(layout >= 0.95 * 1920, `the chat layout is ${layout}px wide in a 1920px window`);

    // A short chat sits at the bottom, by the composer.
    const gap = await page.evaluate(() => {
      const list = document.querySelector('[data-testid=message-list]')?.getBoundingClientRect();
      const rows = document.querySelectorAll('[data-testid=message-list] [data-testid=message]');
      const last = rows[rows.length - 1]?.getBoundingClientRect();
      return list && last ? list.bottom - last.bottom : Infinity;
    });
    assert.ok(gap < 80, `the last message is ${gap}px above the bottom of a short chat`);
    // A run of one sender: only its last bubble has the tail.
    const run = message(page, 'Welcome to the rock pools!');
    assert.match((await run.locator('.chat-bubble').getAttribute('class')) ?? '', /bubble-continued/);
    assert.doesNotMatch((await message(page, 'Low tide is at seven.').locator('.chat-bubble').getAttribute('class')) ?? '', /bubble-continued/);
    await shoot(page, 'desktop-chat-light');
    await useScheme(page, 'dark');
    await shoot(page, 'desktop-chat-dark');

    // The chat list is resized by dragging its edge, and keeps its width across a reload.
    const pane = page.getByTestId('chat-list-pane');
    const before = await pane.evaluate((el) => el.getBoundingClientRect().width);
    const handleBox = await page.getByTestId('pane-resizer').boundingBox();
    if (!handleBox) throw new Error('no resize handle');
    const y = handleBox.y + handleBox.height / 2;
    await page.mouse.move(handleBox.x + handleBox.width / 2, y);
    await page.mouse.down();
    await page.mouse.move(handleBox.x + 60, y, { steps: 4 });
    await page.mouse.move(handleBox.x + 120, y, { steps: 4 });
    await page.mouse.up();
    const after = await pane.evaluate((el) => el.getBoundingClientRect().width);
    assert.ok(Math.abs(after - before - 120) <= 4, `the list went from ${before}px to ${after}px after a 120px drag`);
    await page.reload();
    await page.getByTestId('chat-view').waitFor();
    const reloaded = await pane.evaluate((el) => el.getBoundingClientRect().width);
    assert.ok(Math.abs(reloaded - after) <= 1, `the list is ${reloaded}px after a reload, ${after}px before`);

    // Keyboard focus shows a ring.
    await message(page, 'I will bring a bucket.').waitFor();
    await page.getByTestId('composer').focus();
    await page.keyboard.press('Shift+Tab');
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return 'nothing focused';
      const s = getComputedStyle(el);
      return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1 ? 'ring' : `${el.tagName} has outline ${s.outlineStyle} ${s.outlineWidth}`;
    });
    assert.equal(ring, 'ring');

    // The theme follows the system until one is picked; "System" follows it again.
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    assert.equal(await theme(), 'dark');
    await page.getByTestId('theme-toggle').click();
    assert.equal(await theme(), 'light');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await theme(), 'light', 'a picked theme does not follow the system');
    await page.getByTestId('theme-system').click();
    assert.equal(await theme(), 'dark');
    await useScheme(page, 'light');

    // The group panel, a profile and the directory.
    await page.getByTestId('group-info').click();
    await page.getByTestId('group-panel').waitFor();
    await shoot(page, 'desktop-group-panel');
    await page.getByTestId('group-panel-close').click();
    await page.getByTestId('group-panel').waitFor({ state: 'detached' });
    await page.getByTestId('message-sender').first().click();
    const profile = page.getByTestId('profile-panel');
    await profile.waitFor();
    assert.equal((await page.getByTestId('profile-name').textContent())?.trim(), other.displayName);
    assert.match((await page.getByTestId('profile-id').textContent()) ?? '', new RegExp(`@${other.username}:`));
    await waitUntil(page, (n) => [...document.querySelectorAll('[data-testid=profile-shared-group]')].some((b) => b.textContent?.trim() === n), 'the group in common', groupName);
    await shoot(page, 'desktop-profile');
    // "Message" opens the direct chat with them.
    await page.getByTestId('profile-message').click();
    await waitUntil(page, (n) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === n, 'the direct chat', other.displayName);
    await page.getByTestId('nav-directory').click();
    await page.getByTestId('directory-search').fill(handle);
    await page.locator(`[data-testid=directory-entry][data-handle^="#${handle}:"]`).waitFor();
    await shoot(page, 'desktop-directory');

    // Phone: one pane at a time.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/`);
    await page.getByTestId('chat-list').waitFor({ state: 'visible' });
    assert.ok((await horizontalOverflow(page)) <= 0, 'the chat list scrolls sideways at 390 px');
    await shoot(page, 'phone-list');
    await page.getByTestId('chat-item').filter({ hasText: groupName }).click();
    await page.getByTestId('chat-view').waitFor();
    await message(page, 'I will bring a bucket.').waitFor();
    assert.equal(await page.getByTestId('chat-list').isVisible(), false, 'the list is hidden while a chat is open on a phone');
    assert.equal(await page.getByTestId('back').isVisible(), true);
    assert.ok((await horizontalOverflow(page)) <= 0, 'the chat scrolls sideways at 390 px');
    await shoot(page, 'phone-chat');
    await page.getByTestId('message-sender').first().click();
    await profile.waitFor();
    await shoot(page, 'phone-profile');
    assert.ok((await horizontalOverflow(page)) <= 0, 'the profile scrolls sideways at 390 px');
    await page.getByTestId('profile-close').click();
    await page.getByTestId('back').click();
    await page.getByTestId('chat-list').waitFor({ state: 'visible' });
    await useScheme(page, 'dark');
    await shoot(page, 'phone-list-dark');
  } finally {
    await other.context.close();
  }
  assert.deepEqual(errors, []);
}
