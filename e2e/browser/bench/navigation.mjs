// `make bench` (run by admin-bench on its seeded project): how long the
// dashboard takes, in headless Chromium, from a navigation's start to the
// page's content: the issue list's first row, and the issue page's stack
// frames. The baseline is the floor of the same navigation: the same bundle,
// login, layout and project list, on the not-found page, which loads no data
// of its own. Navigations alternate (floor, list, issue page) so the machine's
// mood is shared; the browser keeps its HTTP cache, as a returning user's does.
//
// Environment: SENTORI_WEB_URL, SENTORI_ADMIN_PASSWORD, BENCH_PROJECT,
// BENCH_ISSUE (the issue page to open), BENCH_ROUNDS (default 30).
// Prints `bench: <name> <value> <unit>` lines.

import assert from 'node:assert/strict';
import { launchBrowser } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const PROJECT = process.env.BENCH_PROJECT;
const ISSUE = process.env.BENCH_ISSUE;
const ROUNDS = Number(process.env.BENCH_ROUNDS || 30);
const WARMUP = 3;

assert.ok(WEB && PASSWORD && PROJECT && ISSUE, 'set SENTORI_WEB_URL, SENTORI_ADMIN_PASSWORD, BENCH_PROJECT and BENCH_ISSUE');

const cases = {
  floor: { url: `/p/${PROJECT}/no-such-page`, content: 'text=There is no page here.' },
  issue_list: { url: `/p/${PROJECT}/issues`, content: '[data-testid="issue-row"]' },
  issue_page: { url: `/p/${PROJECT}/issues/${ISSUE}`, content: '[data-testid="stack-frame"]' },
};

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Milliseconds from the navigation's start (the page's time origin) to its content being visible. */
async function navigate(page, { url, content }) {
  await page.goto(`${WEB}${url}`, { waitUntil: 'commit' });
  await page.locator(content).first().waitFor({ state: 'visible', timeout: 30_000 });
  return page.evaluate(() => performance.now());
}

const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${WEB}/login`);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));

  const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const [name, target] of Object.entries(cases)) {
      const ms = await navigate(page, target);
      if (round >= WARMUP) times[name].push(ms);
    }
  }
  const p95 = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, percentile(values, 95)]));
  for (const [name, values] of Object.entries(times)) {
    console.error(`${name}: p50 ${percentile(values, 50).toFixed(0)} ms, p95 ${p95[name].toFixed(0)} ms over ${values.length} navigations`);
  }
  console.log(`bench: browser_floor_p95_ms ${p95.floor.toFixed(1)} ms`);
  console.log(`bench: browser_issue_list_p95_ms ${p95.issue_list.toFixed(1)} ms`);
  console.log(`bench: browser_issue_page_p95_ms ${p95.issue_page.toFixed(1)} ms`);
  // How close each page comes to the floor: 1.0 would be a page whose data costs nothing.
  console.log(`bench: browser_issue_list_vs_floor_ratio ${(p95.floor / p95.issue_list).toFixed(2)} ratio`);
  console.log(`bench: browser_issue_page_vs_floor_ratio ${(p95.floor / p95.issue_page).toFixed(2)} ratio`);
} finally {
  await browser.close();
}
