// Traces in a real browser: the header's error count is the errors panel's,
// subtrees fold, a span's parent is a link that brings it into view, the
// transaction summary groups traces by root name and leads to them; and
// every page follows the system's dark setting.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ingest, launchBrowser, logIn, screenshot } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const TOKEN = process.env.SENTORI_DEV_TOKEN;
const SHOTS = process.env.SENTORI_SCREENSHOT_DIR;
const DEV_PROJECT = '019508a0-0000-7000-8000-000000000000';
const TRACES = `${WEB}/p/${DEV_PROJECT}/traces`;

let browser;
let page;

const shot = (name) => screenshot(page, name);

before(async () => {
  assert.ok(WEB && PASSWORD && TOKEN && SHOTS, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await logIn(page, WEB, PASSWORD);
});

after(async () => {
  await browser?.close();
});

const START = Date.now() - 60_000;

function span(traceId, id, parentSpanId, name, startMs, durationMs, status = 'ok') {
  return { id, traceId, parentSpanId, op: parentSpanId ? 'db.query' : 'http.server', name,
    startedAt: new Date(START + startMs).toISOString(), durationMs, status };
}

function errorEvent(traceId, spanId, message) {
  return {
    id: randomUUID(), timestamp: new Date(START + 500).toISOString(), kind: 'error', platform: 'javascript',
    release: 'shop@1.0.0+1', environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '1.0.0' },
    traceId, spanId, error: { type: 'HandledError', message, stack: [{ file: 'app.js', line: 1 }] },
  };
}

/** Opens the trace page (with `search`) until the processor has stored `spans` spans and `errors` error events. */
async function openTrace(traceId, spans, errors = 0, search = '') {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(`${TRACES}/${traceId}${search}`);
    await page.getByTestId('trace-page').or(page.getByTestId('trace-missing')).or(page.getByTestId('error')).first().waitFor();
    const header = (await page.locator('.page-subtitle').count()) ? await page.locator('.page-subtitle').innerText() : '';
    if (new RegExp(`\\b${spans} spans?\\b`).test(header) && (await page.getByTestId('trace-error-link').count()) >= errors) return;
    assert.ok(Date.now() < deadline, `the trace's ${spans} spans and ${errors} errors are stored within a minute`);
    await page.waitForTimeout(500);
  }
}

test("the header's error count is the number of errors the panel lists, not of failed spans", async () => {
  const traceId = randomUUID();
  const [root, failed, handled] = [randomUUID(), randomUUID(), randomUUID()];
  // A span that failed with no exception reported, and two exceptions
  // handled inside a span that succeeded.
  await ingest(WEB, TOKEN, '/v1/spans:batch', { spans: [
    span(traceId, root, null, 'GET /pay', 0, 900),
    span(traceId, failed, root, 'UPDATE payments', 100, 200, 'error'),
    span(traceId, handled, root, 'SELECT card', 400, 100),
  ] });
  await ingest(WEB, TOKEN, '/v1/events', errorEvent(traceId, handled, 'card expired, asked again'));
  await ingest(WEB, TOKEN, '/v1/events', errorEvent(traceId, handled, 'card declined, retried'));

  await openTrace(traceId, 3, 2);
  const listed = await page.getByTestId('trace-errors').getByTestId('trace-error-link').count();
  const header = await page.getByTestId('trace-error-count').innerText();
  assert.equal(listed, 2);
  assert.equal(header, `${listed} errors`, 'the header counts what the panel lists');
  assert.match(await page.locator('.page-subtitle').innerText(), /1 failed span\b/, 'the failed span is counted as such');
  await shot('40-trace-errors-agree');
});

test('a subtree folds and unfolds, and a parent id is a link that selects its span and scrolls to it', async () => {
  const traceId = randomUUID();
  const root = randomUUID();
  const cart = randomUUID();
  const [line1, line2] = [randomUUID(), randomUUID()];
  // Enough siblings after the folded subtree that the last one is far below the root.
  const siblings = Array.from({ length: 60 }, () => randomUUID());
  await ingest(WEB, TOKEN, '/v1/spans:batch', { spans: [
    span(traceId, root, null, 'GET /cart', 0, 2000),
    span(traceId, cart, root, 'load cart', 10, 500),
    span(traceId, line1, cart, 'load line 1', 20, 50),
    span(traceId, line2, cart, 'load line 2', 30, 50),
    ...siblings.map((id, i) => span(traceId, id, root, `price ${i}`, 100 + i, 10)),
  ] });
  const last = siblings[siblings.length - 1];
  await openTrace(traceId, 64);

  const row = (id) => page.locator(`[data-testid="waterfall-row"][data-span-id="${id}"]`);
  assert.equal(await row(line1).count(), 1);
  await row(cart).getByTestId('waterfall-toggle').click();
  await row(line1).waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal(await row(line2).count(), 0, 'both children are folded away');
  assert.equal(await row(cart).getByTestId('waterfall-hidden').innerText(), '+2');
  assert.equal(await row(cart).getByTestId('waterfall-toggle').getAttribute('aria-expanded'), 'false');
  await shot('41-trace-subtree-folded');
  await row(cart).getByTestId('waterfall-toggle').click();
  await row(line2).waitFor({ timeout: 5_000 });

  /** Whether the span's row is drawn inside the waterfall's scrolled viewport. */
  const inView = async (id) => {
    if (!(await row(id).count())) return false;
    const [box, viewport] = [await row(id).boundingBox(), await page.getByTestId('waterfall-viewport').boundingBox()];
    return box !== null && box.y >= viewport.y - 1 && box.y + box.height <= viewport.y + viewport.height + 1;
  };
  // A link to the last span selects it and scrolls down to it.
  await openTrace(traceId, 64, 0, `?span=${last}`);
  await page.waitForFunction((id) => document.querySelector(`[data-span-id="${id}"]`), last, { timeout: 10_000 });
  assert.ok(await inView(last), 'the selected span is scrolled into view');
  assert.equal(await inView(root), false, 'the root is scrolled out of view');
  const parent = page.getByTestId('span-detail').getByTestId('span-parent-link');
  assert.equal(await parent.innerText(), root);
  await parent.click();
  await page.waitForURL((url) => url.searchParams.get('span') === root);
  await page.waitForFunction((id) => document.querySelector(`[data-span-id="${id}"].wf-row-selected`), root, { timeout: 10_000 });
  assert.ok(await inView(root), "the parent's row is scrolled into view");
  assert.match(await page.getByTestId('span-detail').innerText(), new RegExp(`Span ID\\s+${root}`));
  assert.match(await page.getByTestId('span-detail').innerText(), /none \(root\)/);
  await shot('42-trace-parent-selected');
  // Back returns to the child: the selection is in the address.
  await page.goBack();
  await page.waitForURL((url) => url.searchParams.get('span') === last);
});

test('the transaction summary counts the traces of a root name and its row lists them', async () => {
  const name = `GET /checkout/${randomUUID().slice(0, 8)}`;
  for (const [duration, status] of [[100, 'ok'], [200, 'error'], [300, 'ok']]) {
    await ingest(WEB, TOKEN, '/v1/spans', span(randomUUID(), randomUUID(), null, name, 0, duration, status));
  }
  const row = page.getByTestId('transaction-row').filter({ has: page.getByText(name, { exact: true }) });
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(`${TRACES}/transactions`);
    await page.getByTestId('transactions-table').or(page.getByTestId('transactions-empty')).first().waitFor();
    if ((await row.count()) && (await row.getByTestId('transaction-count').innerText()) === '3') break;
    assert.ok(Date.now() < deadline, 'the three traces are summarised within a minute');
    await page.waitForTimeout(500);
  }
  assert.equal(await page.title(), 'Transactions · Traces · Sentori');
  const cells = await row.locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(1), ['3', '200 ms', '300 ms', '300 ms', '33.33%'], 'count, p50, p95, p99, error rate');
  await shot('43-transactions');

  await row.getByTestId('transaction-link').click();
  await page.waitForURL((url) => url.pathname.endsWith('/traces') && url.searchParams.get('name') === name);
  await page.getByTestId('traces-table').waitFor();
  const traces = page.getByTestId('trace-row');
  assert.equal(await traces.count(), 3);
  for (const text of await traces.allInnerTexts()) assert.ok(text.includes(name), text);
  assert.equal(await page.getByTestId('trace-name-filter').inputValue(), name);
  await page.getByTestId('traces-tab-transactions').click();
  await page.getByTestId('transactions-table').waitFor();
});

/** sRGB relative luminance (0 black – 1 white) of a computed `rgb()`/`rgba()` colour. */
function luminance(color) {
  const [r, g, b] = color.match(/[\d.]+/g).slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The page's background and text colours, and every drawn element's own background. */
function colours(target) {
  return target.evaluate(() => {
    const style = getComputedStyle(document.body.parentElement);
    const light = [];
    for (const el of document.querySelectorAll('body *')) {
      const bg = getComputedStyle(el).backgroundColor;
      const rect = el.getBoundingClientRect();
      const parts = bg.match(/[\d.]+/g);
      if (!parts || rect.width === 0 || rect.height === 0 || (parts.length === 4 && Number(parts[3]) === 0)) continue;
      light.push({ what: `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`, bg });
    }
    return { background: style.backgroundColor, text: style.color, backgrounds: light };
  });
}

test('every page follows the system dark setting', async () => {
  // An issue and a trace of its own, so their pages are there to look at.
  const traceId = randomUUID();
  const root = randomUUID();
  const message = `dark theme ${randomUUID()}`;
  await ingest(WEB, TOKEN, '/v1/spans', span(traceId, root, null, 'GET /dark', 0, 300, 'error'));
  await ingest(WEB, TOKEN, '/v1/events', errorEvent(traceId, root, message));
  await openTrace(traceId, 1, 1);
  const issue = await page.getByTestId('trace-error-link').getAttribute('href');
  const pages = [
    ['issues', `${WEB}/p/${DEV_PROJECT}/issues`],
    ['issue', `${WEB}${issue}`],
    ['trace', `${TRACES}/${traceId}?span=${root}`],
    ['traces', TRACES],
    ['transactions', `${TRACES}/transactions`],
    ['releases', `${WEB}/p/${DEV_PROJECT}/releases`],
    ['settings', `${WEB}/p/${DEV_PROJECT}/settings`],
    ['status', `${WEB}/status`],
  ];
  // The login page as someone not logged in sees it.
  const visitor = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    for (const [name, url] of [['login', `${WEB}/login`], ...pages]) {
      const target = name === 'login' ? visitor : page;
      await target.emulateMedia({ colorScheme: 'light' });
      await target.goto(url);
      await target.locator(name === 'login' ? '.login-card' : '.page').first().waitFor();
      await target.waitForLoadState('networkidle');
      const light = await colours(target);
      await target.emulateMedia({ colorScheme: 'dark' });
      const dark = await colours(target);
      assert.notEqual(dark.background, light.background, `${name}: the background changes with the setting`);
      assert.ok(luminance(light.background) > 0.8, `${name}: light is light (${light.background})`);
      assert.ok(luminance(dark.background) < 0.05, `${name}: dark is dark (${dark.background})`);
      assert.ok(luminance(dark.text) > 0.6, `${name}: dark text is light (${dark.text})`);
      // No panel, row, badge or field stays a light patch on the dark page.
      const glaring = dark.backgrounds.filter((b) => luminance(b.bg) > 0.5);
      assert.deepEqual(glaring, [], `${name}: light backgrounds left in the dark theme`);
      await screenshot(target, `44-dark-${name}`);
    }
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
    await visitor.close();
  }
});
