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
