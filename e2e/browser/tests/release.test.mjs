// A release's page in headless Chromium: its numbers over time (events,
// sessions, crash-free shares, adoption) and the issues it brought or brought
// back, from events and sessions sent through the real ingest and processor.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ingest, launchBrowser, logIn, screenshot } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const TOKEN = process.env.SENTORI_DEV_TOKEN;
const DEV_PROJECT = '019508a0-0000-7000-8000-000000000000';
const RUN = randomUUID().slice(0, 8);
const FIRST = `relpage@1.0.0-${RUN}`;
const NEXT = `relpage@1.1.0-${RUN}`;
const ERROR_TYPE = `CheckoutError${RUN}`;

let browser;
let page;

before(async () => {
  assert.ok(WEB && PASSWORD && TOKEN, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
});

after(async () => {
  await browser?.close();
});

const send = (path, body) => ingest(WEB, TOKEN, path, body);

function event(release) {
  return {
    id: randomUUID(), timestamp: new Date().toISOString(), kind: 'error', platform: 'javascript', release, environment: 'prod',
    device: { os: 'web', osVersion: '124' }, app: { version: '1' },
    error: { type: ERROR_TYPE, message: 'the basket is empty', stack: [{ file: 'basket.js', line: 3, column: 1, function: 'pay', inApp: true }] },
  };
}

async function admin(path, init = {}) {
  const response = await fetch(`${WEB}/admin/api/projects/${DEV_PROJECT}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  return response.json();
}

async function eventually(what, check) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const release = (name) => admin(`/releases/${encodeURIComponent(name)}`);

test('a release page charts its events and sessions and lists the issues it brought and brought back', async () => {
  const startedAt = new Date().toISOString();
  for (const [userId, status] of [['u1', 'ok'], ['u2', 'crashed'], ['u2', 'ok'], ['u3', 'exited']]) {
    await send('/v1/sessions', { id: randomUUID(), userId, release: FIRST, environment: 'prod', status, startedAt, durationMs: 1000 });
  }
  for (let i = 0; i < 3; i++) await send('/v1/events', event(FIRST));
  await eventually('the release numbers', async () => {
    const r = await release(FIRST);
    return r.eventCount === 3 && r.sessionCount === 4;
  });

  await logIn(page, WEB, PASSWORD);

  await page.goto(`${WEB}/p/${DEV_PROJECT}/releases/${encodeURIComponent(FIRST)}`);
  const charts = page.getByTestId('release-charts');
  await charts.getByTestId('release-events-chart').waitFor();
  const total = (id) => charts.getByTestId(id).getAttribute('data-total');
  assert.equal(await total('release-events-chart'), '3');
  assert.equal(await total('release-sessions-chart'), '4');
  const summary = (id) => charts.getByTestId(id).getByTestId('histogram-summary').innerText();
  assert.match(await summary('release-crash-free-sessions-chart'), /^75%/, 'one of four sessions crashed');
  assert.match(await summary('release-adoption-chart'), /of the project's sessions$/);
  // The hour chart has the same numbers as the day chart.
  await page.getByTestId('release-period-24h').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="release-events-chart"] rect').length === 24);
  assert.equal(await total('release-events-chart'), '3');

  const fresh = page.getByTestId('release-new-issues').getByTestId('release-issue-row');
  assert.match(await fresh.first().innerText(), new RegExp(ERROR_TYPE));
  await page.getByTestId('release-regressed-empty').waitFor();
  await screenshot(page, '40-release-page');

  // Resolved in this release, then seen in a release first seen later: a regression of the next one.
  const [issue] = await admin(`/releases/${encodeURIComponent(FIRST)}/issues?which=new`);
  const patched = await admin(`/issues/${issue.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'resolved', resolvedInRelease: FIRST }) });
  assert.equal(patched.status, 'resolved', JSON.stringify(patched));
  await send('/v1/events', event(NEXT));
  await eventually('the regression', async () => (await admin(`/issues/${issue.id}`)).status === 'regressed');

  await page.goto(`${WEB}/p/${DEV_PROJECT}/releases/${encodeURIComponent(NEXT)}`);
  const back = page.getByTestId('release-regressed-issues').getByTestId('release-issue-row');
  await back.first().waitFor();
  assert.match(await back.first().innerText(), new RegExp(ERROR_TYPE));
  assert.match(await back.first().innerText(), /regressed/i);
  await page.getByTestId('release-new-empty').waitFor();
  assert.match(await page.getByTestId('release-crash-free-sessions-chart').getByTestId('histogram-summary').innerText(), /^no sessions/);
});
