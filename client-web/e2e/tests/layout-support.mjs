// Helpers for the layout, accessibility and notification tests (not a test: it exports no `run`).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

import { message, secondUser, send } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

const require = createRequire(import.meta.url);

/** axe-core's source, read once. */
let axeSource = null;

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) on the page as it is and returns the serious and
 * critical violations as readable lines. axe is injected through the debugger protocol, which
 * the app's Content-Security-Policy does not govern.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>}
 */
export async function seriousViolations(page) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  // Let transitions (theme, panels) settle so colours are measured as shown.
  await page.waitForTimeout(300);
  /** @type {{ id: string, impact: string, help: string, nodes: { target: string[], failureSummary?: string }[] }[]} */
  const violations = await page.evaluate(async () => {
    // @ts-expect-error injected above
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return result.violations.map((/** @type {{ id: string, impact?: string, help: string, nodes: { target: unknown[], failureSummary?: string }[] }} */ v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, nodes: v.nodes.slice(0, 5).map((/** @type {{ target: unknown[], failureSummary?: string }} */ n) => ({ target: n.target.map(String), failureSummary: n.failureSummary })) }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => `${n.target.join(' ')} — ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`).join(' | ')}`);
}

/**
 * Shows the app in the system theme `scheme` (the app follows the system until a theme is
 * picked) and waits until it is applied.
 * @param {import('playwright-core').Page} page
 * @param {'light' | 'dark'} scheme
 */
export async function useScheme(page, scheme) {
  await page.emulateMedia({ colorScheme: scheme });
  await page.waitForFunction((s) => document.documentElement.dataset.theme === s, scheme, { timeout: 5000 });
}

/**
 * A lived-in scene: `page` is the owner of a public group where both users wrote (runs of
 * messages, the other one mentioning the owner), and the owner has the group open.
 * @param {import('playwright-core').Page} page
 * @param {string} baseUrl
 */
export async function groupScene(page, baseUrl) {
  const owner = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const other = await secondUser(page, baseUrl);
  const handle = `look_${Math.random().toString(36).slice(2, 8)}`;
  const groupName = `Rock pools ${handle}`;
  await page.getByTestId('new-group').click();
  await page.getByTestId('create-group-form').waitFor();
  await page.getByTestId('group-name').fill(groupName);
  await page.getByTestId('group-description').fill('Tide pools, crabs and anemones.');
  await page.getByTestId('group-public').check();
  await page.getByTestId('group-handle').fill(handle);
  await page.getByTestId('group-create').click();
  await page.getByTestId('chat-view').waitFor();
  await send(page, 'Welcome to the rock pools!');
  await send(page, 'Low tide is at seven.');

  const po = other.page;
  await po.getByTestId('nav-directory').click();
  await po.getByTestId('directory-search').fill(handle);
  const entry = po.locator(`[data-testid=directory-entry][data-handle^="#${handle}:"]`);
  await entry.waitFor();
  await entry.getByTestId('directory-join').click();
  await po.getByTestId('composer').waitFor();
  // A mention of the owner, picked from the suggestions so that it is a real mention.
  const box = po.getByTestId('composer');
  await box.click();
  await box.pressSequentially(`Thanks @${owner.username.slice(0, 6)}`);
  await po.locator(`[data-testid=mention-option][data-user^="@${owner.username}:"]`).waitFor();
  await box.press('Enter');
  await box.pressSequentially('see you there');
  await box.press('Enter');
  // Shown by the display name (the text keeps the user name).
  const mentionText = `Thanks @${owner.displayName} see you there`;
  await message(po, mentionText).waitFor();
  await send(po, 'I will bring a bucket.');
  await message(page, 'I will bring a bucket.').waitFor();
  await message(page, mentionText).getByTestId('mention').waitFor();
  return { owner, other, handle, groupName };
}
