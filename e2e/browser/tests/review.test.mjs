// What a review in headless Chromium found, kept fixed: pages that work on
// narrow screens, long values that cannot widen a column, errors a person
// can act on, a title on every page, and a login page with a clean console.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { launchBrowser, screenshot } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const TOKEN = process.env.SENTORI_DEV_TOKEN;
const SHOTS = process.env.SENTORI_SCREENSHOT_DIR;
const DEV_PROJECT = '019508a0-0000-7000-8000-000000000000';
const LONG_USER = `user-${'0123456789'.repeat(500)}`;
const LONG_RELEASE = `com.example.shop@2.14.0-beta.3+${'20261202'.repeat(12)}`;
const MESSAGE = `review ${randomUUID()}`;

let browser;
let context;
let page;
let issueUrl;

const shot = (name) => screenshot(page, name);

before(async () => {
  assert.ok(WEB && PASSWORD && TOKEN && SHOTS, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
});

/** Console errors the page logs from now on. */
function consoleErrors(target) {
  const errors = [];
  target.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

/** The document is no wider than the window: nothing scrolls sideways. */
async function assertNoSidewaysScroll(what) {
  const { scroll, width, culprits } = await page.evaluate(() => {
    const width = window.innerWidth;
    // The innermost elements that reach past the window, to say what to fix.
    const past = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > width + 1);
    const innermost = past.filter((el) => !past.some((other) => other !== el && el.contains(other)));
    const describe = (el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)} px)`;
    return { scroll: document.documentElement.scrollWidth, width, culprits: innermost.slice(0, 5).map(describe) };
  });
  assert.ok(scroll <= width, `${what} is ${scroll} px wide in a ${width} px window: ${culprits.join(', ')}`);
}

test('the login page logs no error, is titled, and says when the password is wrong', async () => {
  const errors = consoleErrors(page);
  // A first visit to a deep link, as someone who was sent one would make.
  await page.goto(`${WEB}/p/${DEV_PROJECT}/issues`);
  await page.getByTestId('login-password').waitFor();
  const seen = { path: new URL(page.url()).pathname, title: await page.title(), errors: [...errors] };

  await page.getByTestId('login-password').fill('not the password');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('inline-error').waitFor();
  seen.refusal = await page.getByTestId('inline-error').innerText();
  await shot('20-login-wrong-password');

  // Logged in before asserting, so the tests after this one run whatever it finds.
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === `/p/${DEV_PROJECT}/issues`);
  await page.getByTestId('issues-table').or(page.getByTestId('issues-empty')).first().waitFor();

  assert.match(seen.path, /^\/login/);
  assert.equal(seen.title, 'Log in · Sentori');
  assert.deepEqual(seen.errors, [], 'no request failed on the way to the login page');
  assert.match(seen.refusal, /wrong password/i);
  assert.doesNotMatch(seen.refusal, /admin token/i);
  assert.equal(await page.title(), 'Issues · Sentori');
});

test('an event with a 5 000 character user id and a long release opens without a wide column', async () => {
  const response = await fetch(`${WEB}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: randomUUID(), timestamp: new Date().toISOString(), kind: 'error', platform: 'javascript',
      release: LONG_RELEASE, environment: 'prod',
      device: { os: 'Android', osVersion: '14', model: 'Pixel 8' }, app: { version: '2.14.0', build: '4711' },
      user: { id: LONG_USER, name: 'Long Id' },
      error: { type: 'RangeError', message: MESSAGE, stack: [{ file: 'app.js', line: 3, function: 'render', inApp: true }] },
    }),
  });
  assert.equal(response.status, 202, await response.text());

  const row = page.getByTestId('issue-row').filter({ hasText: MESSAGE });
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(`${WEB}/p/${DEV_PROJECT}/issues`);
    await page.getByTestId('issues-table').or(page.getByTestId('issues-empty')).first().waitFor();
    if (await row.count()) break;
    assert.ok(Date.now() < deadline, 'the issue appears within a minute');
    await page.waitForTimeout(500);
  }
  await row.getByTestId('issue-title').click();
  await page.getByTestId('event').waitFor();
  issueUrl = page.url();
  assert.equal(await page.title(), `RangeError: ${MESSAGE} · Issues · Sentori`, 'named after the issue');

  const userId = page.getByTestId('event-user').getByTestId('truncated-text').first();
  // Ingest keeps the first 200 characters of a user id; all of those are on hover.
  const stored = await userId.getAttribute('title');
  assert.ok(stored.length >= 200 && LONG_USER.startsWith(stored), 'the full id on hover');
  const box = await userId.boundingBox();
  assert.ok(box && box.width < 600, `the user id takes ${box?.width} px`);
  assert.ok(await userId.evaluate((el) => el.scrollWidth > el.clientWidth), 'the user id is cut with an ellipsis');
  assert.equal(await userId.evaluate((el) => getComputedStyle(el).textOverflow), 'ellipsis');
  assert.equal(await page.getByTestId('event-user').getByTestId('copy-value').count(), 1, 'a copy button beside it');

  // The release in the facts sidebar stays on one line, whole on hover.
  const release = page.getByTestId('issue-facts').getByTitle(LONG_RELEASE).first();
  assert.equal(await release.evaluate((el) => getComputedStyle(el).whiteSpace), 'nowrap');
  const lineHeight = await release.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 18);
  assert.ok((await release.boundingBox()).height < lineHeight * 1.5, 'not broken over lines');
  await assertNoSidewaysScroll('the issue page');
  await shot('21-long-values');

  await page.getByTestId('tab-events').click();
  const rowUser = page.getByTestId('event-row-user').first().getByTestId('truncated-text');
  await rowUser.waitFor();
  assert.equal(await rowUser.getAttribute('title'), stored);
  assert.ok((await rowUser.boundingBox()).width < 600);
  await assertNoSidewaysScroll('the events tab');
});

test('at 1024 px the Device, App and User values have room', async () => {
  assert.ok(issueUrl, 'needs the issue of the previous test');
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.goto(issueUrl);
  await page.getByTestId('event').waitFor();
  for (const section of ['event-device', 'event-app', 'event-user']) {
    const widths = await page.getByTestId(section).locator('dd').evaluateAll((dds) => dds.map((dd) => dd.getBoundingClientRect().width));
    assert.ok(widths.length > 0, section);
    for (const width of widths) assert.ok(width >= 80, `a ${section} value is ${width} px wide`);
  }
  await assertNoSidewaysScroll('the issue page at 1024 px');
  await shot('22-issue-1024');
});

test('at 390 px nothing scrolls sideways and the sidebar folds into a menu', async () => {
  assert.ok(issueUrl, 'needs the issue of the previous test');
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${WEB}/p/${DEV_PROJECT}/issues`);
    await page.getByTestId('issues-table').waitFor();
    await assertNoSidewaysScroll('the issue list');
    await shot('23-issues-390');

    assert.equal(await page.getByTestId('nav-traces').isVisible(), false, 'the menu starts closed');
    await page.getByTestId('menu-toggle').click();
    await page.getByTestId('nav-traces').click();
    await page.waitForURL((url) => url.pathname.endsWith('/traces'));
    // The menu closes on the render after the navigation, not with it.
    await page.getByTestId('nav-traces').waitFor({ state: 'hidden', timeout: 5_000 });
    assert.equal(await page.getByTestId('nav-traces').isVisible(), false, 'a navigation closes the menu');

    await page.goto(issueUrl);
    await page.getByTestId('event').waitFor();
    await assertNoSidewaysScroll('the issue page');
    await shot('24-issue-390');
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

test('every page fits a 360 px window', async () => {
  assert.ok(issueUrl, 'needs the issue of an earlier test');
  await page.setViewportSize({ width: 360, height: 780 });
  try {
    const addresses = [
      `/p/${DEV_PROJECT}/issues`,
      new URL(issueUrl).pathname,
      `${new URL(issueUrl).pathname}?tab=events`,
      `/p/${DEV_PROJECT}/traces`,
      `/p/${DEV_PROJECT}/releases`,
      `/p/${DEV_PROJECT}/releases/${encodeURIComponent(LONG_RELEASE)}`,
      `/p/${DEV_PROJECT}/settings`,
      '/status',
      '/projects/new',
    ];
    for (const address of addresses) {
      await page.goto(`${WEB}${address}`);
      await page.waitForLoadState('networkidle');
      await assertNoSidewaysScroll(address);
    }
    await shot('26-release-360');
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

test('an id that names nothing shows a not-found state, not the server parse error', async () => {
  const cases = [
    [`/p/${DEV_PROJECT}/issues/not-an-issue-id`, 'issue-missing'],
    [`/p/${DEV_PROJECT}/issues/${randomUUID()}`, 'issue-missing'],
    [`/p/${DEV_PROJECT}/traces/not-a-trace-id`, 'not-found'],
    [`/p/${DEV_PROJECT}/releases/${encodeURIComponent('never@0.0.0')}`, 'release-missing'],
    ['/p/not-a-project/issues', 'not-found'],
    ['/no/such/page', 'not-found'],
  ];
  if (issueUrl) cases.push([`${new URL(issueUrl).pathname.replace(/\/events\/[^/]+$/, '')}/events/not-an-event-id`, 'event-missing']);
  for (const [address, testId] of cases) {
    await page.goto(`${WEB}${address}`);
    const state = page.getByTestId(testId);
    await state.waitFor();
    const text = await state.innerText();
    assert.doesNotMatch(text, /invalid url|cannot parse|uuid/i, `${address} shows ${text}`);
    assert.equal(await page.getByRole('button', { name: 'Try again' }).count(), 0, `${address} offers no retry`);
    assert.ok((await state.getByRole('link').count()) > 0, `${address} offers a way back`);
    assert.match(await page.title(), / · Sentori$/);
  }
  await shot('25-not-found');
});

test('every page names itself in the tab title', async () => {
  const pages = [
    [`/p/${DEV_PROJECT}/issues`, /^Issues · Sentori$/],
    [`/p/${DEV_PROJECT}/traces`, /^Traces · Sentori$/],
    [`/p/${DEV_PROJECT}/releases`, /^Releases · Sentori$/],
    // A long release name is cut so the tab still says where it is.
    [`/p/${DEV_PROJECT}/releases/${encodeURIComponent(LONG_RELEASE)}`, /^com\.example\.shop@2\.14\.0-beta\.3\+2026\d*… · Releases · Sentori$/],
    [`/p/${DEV_PROJECT}/settings`, /^Settings · Sentori$/],
    ['/status', /^System status · Sentori$/],
    ['/projects/new', /^New project · Sentori$/],
  ];
  for (const [address, title] of pages) {
    await page.goto(`${WEB}${address}`);
    // The title is set once the page has rendered; wait for any change from the bare one.
    await page.waitForFunction(() => document.title !== 'Sentori', null, { timeout: 10_000 }).catch(() => {});
    assert.match(await page.title(), title, address);
  }
});

test('releases sort by version, and a release without sessions says so', async () => {
  const app = `sorter${randomUUID().slice(0, 6)}`;
  for (const version of ['1.9.0', '1.10.0', '1.10.0-beta.1']) {
    const response = await fetch(`${WEB}/v1/deploys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ release: `${app}@${version}`, environment: 'prod' }),
    });
    assert.equal(response.status, 201, await response.text());
  }
  await page.goto(`${WEB}/p/${DEV_PROJECT}/releases`);
  await page.getByTestId('release-sort').selectOption('version');
  await page.waitForURL(/sort=version/);
  const ours = page.getByTestId('release-row').filter({ hasText: `${app}@` });
  // Deploys reach the releases table through the processor.
  const deadline = Date.now() + 60_000;
  while ((await ours.count()) < 3) {
    assert.ok(Date.now() < deadline, 'the three releases appear within a minute');
    await page.waitForTimeout(500);
    await page.reload();
    await page.getByTestId('releases-table').or(page.getByTestId('releases-empty')).first().waitFor();
  }
  // Read once the rows stop changing: the count can be reached before the last re-render.
  const expected = [`${app}@1.10.0`, `${app}@1.10.0-beta.1`, `${app}@1.9.0`];
  let names = await ours.locator('.release-name').allInnerTexts();
  for (const settle = Date.now() + 10_000; names.join() !== expected.join() && Date.now() < settle; ) {
    await page.waitForTimeout(100);
    names = await ours.locator('.release-name').allInnerTexts();
  }
  assert.deepEqual(names, expected);
  assert.match(await ours.first().innerText(), /no sessions/);
  await shot('27-releases-by-version');
});
