// Helpers shared by the browser tests (not a test: it exports no `run`).

/**
 * Registers a fresh user through the form and waits for the app shell.
 * @param {import('playwright-core').Page} page
 * @param {string} baseUrl
 */
export async function register(page, baseUrl) {
  const suffix = Math.random().toString(36).slice(2, 8);
  const username = `e2e${suffix}`;
  const password = `correct horse ${suffix} staple`;
  const displayName = `Tester ${suffix}`;
  await page.goto(`${baseUrl}/register`);
  const form = page.getByTestId('register-form');
  await form.waitFor();
  await form.locator('input[name=username]').fill(username);
  await form.locator('input[name=display_name]').fill(displayName);
  await form.locator('input[name=password]').fill(password);
  await form.locator('input[name=confirm]').fill(password);
  await page.getByTestId('register-submit').click();
  await Promise.race([
    page.getByTestId('user-name').waitFor(),
    page
      .getByTestId('form-error')
      .waitFor()
      .then(async () => {
        throw new Error(`registration failed: ${await page.getByTestId('form-error').textContent()}`);
      }),
  ]);
  return { username, password, displayName };
}

/** @param {import('playwright-core').Page} page */
export function connectionState(page) {
  return page.getByTestId('connection').getAttribute('data-state');
}

/**
 * Waits until the connection indicator shows `state`.
 * @param {import('playwright-core').Page} page
 * @param {string} state
 */
export async function waitForConnection(page, state, timeout = 15_000) {
  try {
    await page.waitForFunction((s) => document.querySelector('[data-testid=connection]')?.getAttribute('data-state') === s, state, { timeout });
  } catch {
    throw new Error(`connection indicator is ${await connectionState(page).catch(() => '(missing)')}, expected ${state} within ${timeout} ms`);
  }
}

/**
 * Waits until the navbar shows `name` (the profile arrives with the gateway's `ready`).
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function waitForName(page, name, timeout = 15_000) {
  try {
    await page.waitForFunction((n) => document.querySelector('[data-testid=user-name]')?.textContent?.trim() === n, name, { timeout });
  } catch {
    throw new Error(`navbar shows ${JSON.stringify(await page.getByTestId('user-name').textContent().catch(() => null))}, expected ${JSON.stringify(name)}`);
  }
}
