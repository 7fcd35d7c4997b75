// The dashboard in a real browser: log in, see an issue from a sent event
// with hostile text shown literally, open it, resolve it. Each page's
// screenshot is saved for a person to look at.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { launchBrowser, screenshot } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const TOKEN = process.env.SENTORI_DEV_TOKEN;
const SHOTS = process.env.SENTORI_SCREENSHOT_DIR;
const DEV_PROJECT = '019508a0-0000-7000-8000-000000000000';
const HOSTILE = '<img src=x onerror=alert(1)>';

let browser;
let page;
const dialogs = [];

const shot = (name) => screenshot(page, name);

before(async () => {
  assert.ok(WEB && PASSWORD && TOKEN && SHOTS, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
});

after(async () => {
  await browser?.close();
});

async function sendEvent(message) {
  const response = await fetch(`${WEB}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'sentori-sdk': 'browser-test/0.1.0' },
    body: JSON.stringify({
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      kind: 'error',
      platform: 'javascript',
      release: 'shop@1.0.0+1',
      environment: 'prod',
      device: { os: 'web', osVersion: '124' },
      app: { version: '1.0.0' },
      user: { id: 'browser-user' },
      error: {
        type: 'TypeError',
        message,
        stack: [{ file: 'https://shop.example/assets/cart.js', line: 12, column: 4, function: 'checkout', inApp: true }],
      },
    }),
  });
  assert.equal(response.status, 202, await response.text());
}

test('log in, see an event as an issue with its text shown literally, open and resolve it', async () => {
  await sendEvent(HOSTILE);

  await page.goto(`${WEB}/`);
  await page.getByTestId('login-password').waitFor();
  await shot('01-login');
  await page.getByTestId('login-password').fill('wrong password');
  await page.getByTestId('login-submit').click();
  // A wrong password is refused in words that say so, and the form stays.
  await page.getByTestId('inline-error').waitFor();
  assert.match(await page.getByTestId('inline-error').innerText(), /wrong password/i);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  // Logged in once the app has left the login page (the cookie is set).
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));

  // The processor may still be working: reload the list until the issue shows.
  await page.goto(`${WEB}/p/${DEV_PROJECT}/issues`);
  const row = page.getByTestId('issue-row').filter({ hasText: HOSTILE });
  const deadline = Date.now() + 60_000;
  while (!(await row.count())) {
    assert.ok(Date.now() < deadline, 'the issue appears within a minute');
    await page.waitForTimeout(500);
    await page.reload();
    await page.getByTestId('issues-table').or(page.getByText(/no issues/i)).first().waitFor();
  }
  await shot('02-issues');
  // Shown as text, never parsed as markup: no <img> from the message, no alert.
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  assert.match(await row.getByTestId('issue-title').innerText(), /<img src=x onerror=alert\(1\)>/);

  await row.getByTestId('issue-title').click();
  await page.getByTestId('issue-page').waitFor();
  await page.getByTestId('fingerprint').waitFor();
  assert.match(await page.getByTestId('issue-title').innerText(), /<img src=x onerror=alert\(1\)>/);
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  await shot('03-issue');

  await page.getByTestId('status-resolve').click();
  await page.getByTestId('status-reopen').waitFor();
  await shot('04-issue-resolved');
  assert.deepEqual(dialogs, [], 'no script from the event ran');
});

/** The issue list's row of the issue titled with `text`, once the processor has stored its `eventCount` events. */
async function issueRow(text, eventCount = 1) {
  await page.goto(`${WEB}/p/${DEV_PROJECT}/issues`);
  const row = page.getByTestId('issue-row').filter({ hasText: text });
  const deadline = Date.now() + 60_000;
  const counted = row.locator(`td.col-num[title="${eventCount}"]`);
  while (!(await counted.count())) {
    assert.ok(Date.now() < deadline, 'the issue appears within a minute');
    await page.waitForTimeout(500);
    await page.reload();
    await page.getByTestId('issues-table').or(page.getByTestId('empty')).first().waitFor();
  }
  return row;
}

async function sendSpan(span) {
  const response = await fetch(`${WEB}/v1/spans`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(span),
  });
  assert.equal(response.status, 202, await response.text());
}

test('a trace opens as a waterfall of nested spans with the error inside it', async () => {
  const traceId = randomUUID();
  const root = randomUUID();
  const child = randomUUID();
  const start = Date.now() - 5_000;
  await sendSpan({ id: root, traceId, parentSpanId: null, op: 'react.navigation', name: 'CheckoutScreen',
    startedAt: new Date(start).toISOString(), durationMs: 900, status: 'error' });
  await sendSpan({ id: child, traceId, parentSpanId: root, op: 'http.client', name: 'POST /api/orders',
    startedAt: new Date(start + 200).toISOString(), durationMs: 500, status: 'error' });
  const response = await fetch(`${WEB}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: randomUUID(), timestamp: new Date(start + 600).toISOString(), kind: 'error', platform: 'javascript',
      release: 'shop@1.0.0+1', environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '1.0.0' },
      traceId, spanId: child,
      error: { type: 'HttpError', message: 'POST /api/orders failed with 500', stack: [{ file: 'app.js', line: 1 }] },
    }),
  });
  assert.equal(response.status, 202);

  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(`${WEB}/p/${DEV_PROJECT}/traces/${traceId}`);
    await page.getByTestId('trace-page').or(page.getByTestId('trace-missing')).or(page.getByTestId('error')).first().waitFor();
    if ((await page.getByTestId('waterfall-row').count()) === 2 && (await page.getByTestId('trace-error-link').count()) > 0) break;
    assert.ok(Date.now() < deadline, 'the trace and its error are stored within a minute');
    await page.waitForTimeout(500);
  }
  const rows = page.getByTestId('waterfall-row');
  assert.equal(await rows.nth(0).getAttribute('data-span-id'), root, 'the root first');
  assert.equal(await rows.nth(1).getAttribute('data-span-id'), child);
  assert.match(await page.getByTestId('trace-errors').innerText(), /POST \/api\/orders failed with 500/);
  await shot('05-trace-waterfall');
});

test('an OpenTelemetry backend continues an app trace in one waterfall, with span kinds, statuses and its service', async () => {
  const hex = (bytes) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const traceHex = hex(16);
  const traceId = [traceHex.slice(0, 8), traceHex.slice(8, 12), traceHex.slice(12, 16), traceHex.slice(16, 20), traceHex.slice(20)].join('-');
  const appSpan = randomUUID();
  const start = Date.now() - 5_000;
  await sendSpan({ id: appSpan, traceId, parentSpanId: null, op: 'react.navigation', name: 'CartScreen',
    startedAt: new Date(start).toISOString(), durationMs: 900, status: 'ok' });
  // The backend continued the trace from a traceparent naming the app's span by its last 8 bytes.
  const server = hex(8);
  const nanos = (ms) => String(BigInt(start + ms) * 1_000_000n);
  const attribute = (key, value) => ({ key, value: { stringValue: value } });
  const otlp = { resourceSpans: [{ resource: { attributes: [attribute('service.name', 'cart-api')] }, scopeSpans: [{ spans: [
    { traceId: traceHex, spanId: server, parentSpanId: appSpan.replace(/-/g, '').slice(16), name: 'GET /cart', kind: 2,
      startTimeUnixNano: nanos(100), endTimeUnixNano: nanos(600), attributes: [attribute('http.request.method', 'GET')] },
    { traceId: traceHex, spanId: hex(8), parentSpanId: server, name: 'SELECT cart', kind: 3,
      startTimeUnixNano: nanos(200), endTimeUnixNano: nanos(400), status: { code: 2, message: 'deadlock' },
      attributes: [attribute('db.system', 'postgresql')] },
  ] }] }] };
  const response = await fetch(`${WEB}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(otlp),
  });
  const answer = await response.text();
  assert.equal(response.status, 200, answer);
  assert.equal(JSON.parse(answer).partialSuccess ?? null, null, 'every span accepted');

  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(`${WEB}/p/${DEV_PROJECT}/traces/${traceId}`);
    await page.getByTestId('trace-page').or(page.getByTestId('trace-missing')).or(page.getByTestId('error')).first().waitFor();
    if ((await page.getByTestId('waterfall-row').count()) === 3) break;
    assert.ok(Date.now() < deadline, 'the three spans are stored within a minute');
    await page.waitForTimeout(500);
  }
  const rows = page.getByTestId('waterfall-row');
  assert.equal(await rows.nth(0).getAttribute('data-span-id'), appSpan, "the app's span is the root");
  const indent = async (i) => rows.nth(i).locator('.wf-label').evaluate((el) => el.style.paddingLeft);
  assert.deepEqual([await indent(0), await indent(1), await indent(2)], ['22px', '36px', '50px'], 'one tree, three levels');
  assert.match(await rows.nth(1).innerText(), /GET \/cart/);
  assert.equal(await rows.nth(1).getByTestId('waterfall-kind').innerText(), 'server');
  assert.equal(await rows.nth(2).getByTestId('waterfall-kind').innerText(), 'client');
  assert.match(await rows.nth(2).getByTestId('waterfall-status').innerText(), /error/);
  assert.equal(await rows.nth(1).getByText('orphan').count(), 0);
  await shot('06-otlp-waterfall');

  await page.goto(`${WEB}/p/${DEV_PROJECT}/traces?service=cart-api`);
  await page.getByTestId('traces-table').waitFor();
  const listed = page.getByTestId('trace-row').filter({ has: page.locator(`a[href$="${traceId}"]`) });
  assert.equal(await listed.count(), 1, 'the service filter finds the trace');
  assert.equal(await listed.getByTestId('trace-service').innerText(), 'cart-api');
  await page.goto(`${WEB}/p/${DEV_PROJECT}/traces?service=no-such-service`);
  await page.getByTestId('traces-empty').waitFor();
});

test('settings: create and revoke a token, add a recipient', async () => {
  await page.goto(`${WEB}/p/${DEV_PROJECT}/settings`);
  await page.getByTestId('tokens-panel').waitFor();

  await page.getByTestId('token-label').fill('browser test');
  await page.getByTestId('token-create').click();
  const created = page.getByTestId('token-created');
  await created.waitFor();
  assert.match(await created.innerText(), /st_pk_[0-9a-z]{26}/, 'the new token is shown once');
  // The Sentry DSN of the new public token, for apps that keep their Sentry SDK (the dev project is number 1).
  assert.match(await created.getByTestId('sentry-dsn').innerText(), /^https?:\/\/st_pk_[0-9a-z]{26}@[^/]+\/1$/);
  await created.getByTestId('sentry-platform').selectOption('python');
  assert.match(await created.getByTestId('sentry-snippet').innerText(), /sentry_sdk\.init\(dsn="https?:\/\/st_pk_/);
  const row = page.getByTestId('token-row').filter({ hasText: 'browser test' });
  await row.waitFor();
  await shot('06-token-created');

  // Revoking takes a second click to confirm.
  await row.getByTestId('token-revoke').click();
  await row.getByTestId('token-revoke').click();
  await row.getByText(/revoked/).waitFor();
  assert.equal(await row.getByTestId('token-revoke').count(), 0);

  await page.getByTestId('settings-tab-recipients').click();
  await page.getByTestId('recipient-email').fill('oncall@example.com');
  await page.getByTestId('recipient-add').click();
  await page.getByTestId('recipient-row').filter({ hasText: 'oncall@example.com' }).waitFor();
  // A second add of the same address is refused with the API's message.
  await page.getByTestId('recipient-email').fill('ONCALL@example.com');
  await page.getByTestId('recipient-add').click();
  await page.getByTestId('recipients-panel').getByRole('alert').waitFor();
  await shot('07-settings');
  assert.equal(await page.getByTestId('recipient-row').count(), 1);
  assert.deepEqual(dialogs, []);
});

test('an issue from a minified bundle shows the frame mapped through the uploaded source map', async () => {
  const release = 'shop@1.1.0+2';
  const source = Array.from({ length: 50 }, (_, i) => `// line ${i + 1}`);
  source[41] = "  throw new TypeError('order total is undefined');";
  // One mapping: bundle line 1, column 0 -> src/checkout.ts line 42, column 0.
  const map = { version: 3, file: 'app.min.js', sources: ['src/checkout.ts'], sourcesContent: [source.join('\n')], names: [], mappings: 'AAyCA' };
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify(map)], { type: 'application/json' }), 'app.min.js.map');
  const upload = await fetch(`${WEB}/admin/api/releases/${encodeURIComponent(release)}/sourcemaps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: form,
  });
  assert.equal(upload.status, 200, await upload.text());

  const response = await fetch(`${WEB}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: randomUUID(), timestamp: new Date().toISOString(), kind: 'error', platform: 'javascript', release,
      environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '1.1.0' },
      error: { type: 'TypeError', message: 'order total is undefined',
               stack: [{ file: 'https://shop.example/assets/app.min.js', line: 1, column: 1, function: 'a', inApp: true }] },
    }),
  });
  assert.equal(response.status, 202);

  const row = await issueRow('order total is undefined');
  await row.getByTestId('issue-title').click();
  const frame = page.getByTestId('stack-frame').first();
  await frame.waitFor();
  assert.match(await frame.getByTestId('frame-location').innerText(), /src\/checkout\.ts:42/);
  assert.match(await page.getByTestId('exception').innerText(), /order total is undefined/);
  await shot('08-mapped-frame');
});

test('events sent two days late show two days ago, not as a spike in the last 24 hours', async () => {
  const message = `offline queue flushed ${randomUUID()}`;
  const now = Date.now();
  const twoDaysAgo = new Date(now - 2 * 86_400_000);
  const times = [twoDaysAgo, twoDaysAgo, twoDaysAgo, new Date(now)];
  const response = await fetch(`${WEB}/v1/events:batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      events: times.map((t) => ({
        id: randomUUID(), timestamp: t.toISOString(), kind: 'error', platform: 'javascript', release: 'shop@1.0.0+1',
        environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '1.0.0' },
        error: { type: 'SyncError', message, stack: [{ file: 'app:///sync.js', line: 7, function: 'flush', inApp: true }] },
      })),
    }),
  });
  assert.equal(response.status, 202, await response.text());

  const row = await issueRow(message, 4);
  assert.match(await row.getByTestId('sparkline').getAttribute('aria-label'), /^1 events? in the last 24 hours/);
  await row.getByTestId('issue-title').click();
  const histogram = page.getByTestId('issue-histogram');
  await histogram.waitFor();
  assert.equal(await histogram.getAttribute('data-total'), '1', 'only the event sent with the time now');
  assert.match(await page.getByTestId('histogram-summary').innerText(), /^1 event in the last 24 hours/);

  await page.getByTestId('histogram-14d').click();
  await page.locator('[data-testid="issue-histogram"][data-total="4"]').waitFor();
  const day = twoDaysAgo.toISOString().slice(0, 10);
  const titles = await histogram.locator('[data-testid="histogram-bucket"] title').allTextContents();
  assert.equal(titles.length, 14);
  assert.ok(titles.includes(`${day} (UTC): 3 events`), titles.join('\n'));
  await shot('09-issue-histogram-14d');

  await page.getByTestId('histogram-90d').click();
  await page.locator('[data-testid="issue-histogram"][data-total="4"]').waitFor();
  assert.equal(await histogram.locator('[data-testid="histogram-bucket"]').count(), 90);
});

test('the missing-source-maps note shows for a minified stack only, with the upload command', async () => {
  const release = `shop@3.0.${Date.now()}`;
  const send = async (message, frame) => {
    const response = await fetch(`${WEB}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: randomUUID(), timestamp: new Date().toISOString(), kind: 'error', platform: 'javascript', release,
        environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '3.0.0' },
        error: { type: 'TypeError', message, stack: [{ ...frame, inApp: true }] },
      }),
    });
    assert.equal(response.status, 202, await response.text());
  };
  const minified = `minified stack ${randomUUID()}`;
  const readable = `readable stack ${randomUUID()}`;
  await send(minified, { file: 'https://shop.example/assets/app.min.js', line: 1, column: 20412, function: 'Xe' });
  await send(readable, { file: 'https://shop.example/src/cart.js', line: 12, column: 4, function: 'checkout' });

  await (await issueRow(minified)).getByTestId('issue-title').click();
  const note = page.getByTestId('symbolication-note');
  await note.waitFor();
  const text = await note.innerText();
  assert.match(text, /has no source maps/);
  assert.ok(text.includes(`/admin/api/releases/${encodeURIComponent(release)}/sourcemaps`), text);
  await shot('10-missing-maps-note');

  await (await issueRow(readable)).getByTestId('issue-title').click();
  await page.getByTestId('stack-frame').first().waitFor();
  assert.equal(await note.count(), 0, 'a readable stack needs no maps');
});

/** How many `locator` matches once it has matched `expected` (or 10 s have passed): what a re-render leaves. */
async function settledCount(locator, expected) {
  const deadline = Date.now() + 10_000;
  let count = await locator.count();
  while (count !== expected && Date.now() < deadline) {
    await page.waitForTimeout(100);
    count = await locator.count();
  }
  return count;
}

test('the search box narrows by user and tag, and the status tabs count what the filters leave', async () => {
  const run = randomUUID().slice(0, 8);
  const send = async (fn, user, screen) => {
    const response = await fetch(`${WEB}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: randomUUID(), timestamp: new Date().toISOString(), kind: 'error', platform: 'javascript', release: 'shop@1.0.0+1',
        environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '1.0.0' },
        user: { id: `${user}-${run}` }, tags: { screen: `${screen}-${run}` },
        error: { type: 'TypeError', message: `${fn} failed ${run}`,
                 stack: [{ file: 'https://shop.example/src/shop.js', line: 3, column: 1, function: `${fn}${run}`, inApp: true }] },
      }),
    });
    assert.equal(response.status, 202, await response.text());
  };
  await send('checkout', 'ann', 'checkout');
  await send('browse', 'bob', 'home');
  await issueRow(`checkout failed ${run}`);
  await issueRow(`browse failed ${run}`);

  const search = page.getByTestId('issue-search');
  await search.fill(`is:all tag:screen=checkout-${run}`);
  await search.press('Enter');
  await page.waitForURL(/tag=screen%3Dcheckout/);
  const rows = page.getByTestId('issue-row');
  await page.getByTestId('issue-row').filter({ hasText: `checkout failed ${run}` }).waitFor();
  // The list may re-render once more as the counts arrive: read the rows once they settle.
  assert.equal(await settledCount(rows, 1), 1, 'only the issue whose event carries the tag');
  assert.equal(await page.getByTestId('issue-tab-all').getAttribute('aria-pressed'), 'true', 'is:all picks the tab');
  await page.locator('[data-testid="issue-tab-all"] [data-testid="issue-tab-count"]', { hasText: /^1$/ }).waitFor();
  assert.equal(await search.inputValue(), `tag:screen=checkout-${run}`, 'the box shows the filters it set');
  await shot('11-issue-search');

  await search.fill(`user:bob-${run}`);
  await search.press('Enter');
  await page.getByTestId('issue-row').filter({ hasText: `browse failed ${run}` }).waitFor();
  assert.equal(await settledCount(rows, 1), 1);

  // Reloading the address gives the same view.
  await page.reload();
  await page.getByTestId('issue-row').filter({ hasText: `browse failed ${run}` }).waitFor();
  assert.equal(await search.inputValue(), `user:bob-${run}`);

  await search.fill('is:someday');
  await search.press('Enter');
  assert.match(await page.getByTestId('issue-search-problem').innerText(), /is:someday/);

  // The issue page breaks down the SDK's own tags; a value filters the list.
  await (await issueRow(`checkout failed ${run}`)).getByTestId('issue-title').click();
  const tag = page.getByTestId('custom-tag').filter({ hasText: 'screen' });
  await tag.getByTestId('tag-filter-link').first().click();
  await page.waitForURL(/tag=screen%3Dcheckout/);
  await page.getByTestId('issue-row').filter({ hasText: `checkout failed ${run}` }).waitFor();
  assert.equal(await page.getByTestId('issue-row').count(), 1);
});
