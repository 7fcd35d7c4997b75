// What every browser test file starts with: Debian's Chromium, headless.
import path from 'node:path';
import { chromium } from 'playwright-core';

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    // Root in CI has no user namespace sandbox to give Chromium.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** A full-page screenshot in SENTORI_SCREENSHOT_DIR, for a person to look at. */
export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(process.env.SENTORI_SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Logs `page` in as the operator and waits until the app has left the login page. */
export async function logIn(page, web, password) {
  await page.goto(`${web}/login`);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/** POSTs `body` as JSON to ingest's `path` with the project token; fails the test unless it is accepted. */
export async function ingest(web, token, path, body) {
  const response = await fetch(`${web}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 202) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
}
