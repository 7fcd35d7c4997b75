// The dashboard's flows end to end, in a project made through the
// dashboard itself (so nothing another test file sends shows here): a new
// project and its token, paging, filters, sorting and bulk status changes
// on the issue list, a screenshot attachment, a release with its health and
// an uploaded source map, the traces list, the status page, and logging out.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateSync, crc32 } from 'node:zlib';
import { launchBrowser, logIn, screenshot } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const SHOTS = process.env.SENTORI_SCREENSHOT_DIR;
const RUN = randomUUID().slice(0, 8);
const RELEASE = `flows@1.2.${Date.now()}`;
/** Issues sent by the paging test: more than the list's page of 50. */
const ISSUES = 52;

let browser;
let context;
let page;
/** The project the first test creates, and its public token. */
let project;
let token;

const shot = (name) => screenshot(page, `flows-${name}`);

before(async () => {
  assert.ok(WEB && PASSWORD && SHOTS, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await logIn(page, WEB, PASSWORD);
});

after(async () => {
  await browser?.close();
});

async function post(path, body, expected) {
  const response = await fetch(`${WEB}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, expected, `${path}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An event of its own issue (the error type names it) in RELEASE. */
function event(n, extra = {}) {
  return {
    id: randomUUID(), timestamp: new Date().toISOString(), kind: 'error', level: 'error', platform: 'javascript',
    release: RELEASE, environment: 'prod', device: { os: 'web', osVersion: '124' }, app: { version: '1.2.0' },
    error: { type: `Flow${n}Error`, message: `step ${n} failed ${RUN}`,
             stack: [{ file: 'https://shop.example/src/flow.js', line: n + 1, column: 1, function: `step${n}`, inApp: true }] },
    ...extra,
  };
}

/** Reloads `address` until `done()` holds, for what the processor stores meanwhile. */
async function reloadUntil(address, ready, done, what) {
  const deadline = Date.now() + 60_000;
  await page.goto(`${WEB}${address}`);
  for (;;) {
    await ready().first().waitFor();
    if (await done()) return;
    assert.ok(Date.now() < deadline, `${what} within a minute`);
    await page.waitForTimeout(500);
    await page.reload();
  }
}

const rows = () => page.getByTestId('issue-row');
/**
 * Waits until the list shows `n` rows (or at least `n`). A filter or search
 * keeps the old rows on screen until its answer comes, so waiting for a row
 * that both lists contain would read the old list.
 */
const rowsCounted = (n, { atLeast = false, timeout = undefined } = {}) =>
  page.waitForFunction(([n, atLeast]) => {
    const shown = document.querySelectorAll('[data-testid="issue-row"]').length;
    return atLeast ? shown >= n : shown === n;
  }, [n, atLeast], { timeout });
const tabCount = (tab) => page.locator(`[data-testid="issue-tab-${tab}"] [data-testid="issue-tab-count"]`);

test('a new project made in the dashboard shows its token once and opens empty', async () => {
  await page.goto(`${WEB}/p/019508a0-0000-7000-8000-000000000000/issues`);
  await page.getByTestId('project-switcher').selectOption('__new');
  await page.waitForURL(/\/projects\/new$/);
  await page.getByTestId('project-name').fill(`flows-${RUN}`);
  await page.getByTestId('project-platform').selectOption('javascript');
  await page.getByTestId('project-create').click();
  const created = page.getByTestId('project-created');
  await created.waitFor();
  token = (await created.getByTestId('curl-snippet').innerText()).match(/st_pk_[0-9a-z]{26}/)?.[0];
  assert.ok(token, 'the curl snippet carries the new token');
  assert.ok((await created.getByTestId('sdk-snippet').innerText()).includes(token), 'so does the SDK snippet');
  await shot('01-project-created');

  await created.getByTestId('open-project').click();
  await page.waitForURL(/\/p\/[0-9a-f-]{36}\/issues/);
  project = new URL(page.url()).pathname.split('/')[2];
  await page.getByTestId('issues-empty').waitFor();
  assert.equal(await page.getByTestId('project-switcher').inputValue(), project, 'the switcher shows the new project');
  // Leaving the page forgets the token: it was shown once.
  await page.goto(`${WEB}/projects/new`);
  await page.getByTestId('project-form').waitFor();
  assert.equal(await page.getByText(token).count(), 0);
});

test('the issue list pages past 50, filters by level, sorts by events and searches', async () => {
  assert.ok(project, 'needs the project of the first test');
  const hoursAgo = (h) => new Date(Date.now() - h * 3_600_000).toISOString();
  // Issue 10 has three events, the rest one each. Its events are the oldest,
  // so only sorting by events can put it first; its extra two go first, so
  // once the last issue is counted they are stored too.
  const events = [event(10, { timestamp: hoursAgo(2) }), event(10, { timestamp: hoursAgo(2) }),
    ...Array.from({ length: ISSUES }, (_, n) => event(n, n < 2 ? { level: 'warning' } : n === 10 ? { timestamp: hoursAgo(3) } : {}))];
  await post('/v1/events:batch', { events }, 202);

  const base = `/p/${project}/issues`;
  // The tab counts are asked for after the rows, so they can be newer than
  // a list read while the events were still being stored: then reload again.
  await reloadUntil(base, () => rows().or(page.getByTestId('issues-empty')),
    async () => (await tabCount('active').innerText().catch(() => '')) === String(ISSUES) &&
      (await rowsCounted(50, { atLeast: true, timeout: 2_000 }).then(() => true, () => false)),
    `the ${ISSUES} issues are stored`);
  assert.equal(await rows().count(), 50, 'a page is 50 issues');
  await page.getByTestId('load-more').click();
  await page.getByText(`${ISSUES} issues`).waitFor();
  assert.equal(await rows().count(), ISSUES);
  assert.equal(await page.getByTestId('load-more').count(), 0, 'nothing after the last page');
  await shot('02-issues-paged');

  await page.getByTestId('issue-level-filter').selectOption('warning');
  await page.waitForURL(/level=warning/);
  await rowsCounted(2);
  assert.deepEqual((await rows().getByTestId('issue-title').allInnerTexts()).map((t) => t.split(':')[0]).sort(), ['Flow0Error', 'Flow1Error']);
  await tabCount('active').filter({ hasText: /^2$/ }).waitFor();

  await page.getByTestId('issue-level-filter').selectOption('');
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('level'));
  await rowsCounted(50, { atLeast: true });
  assert.doesNotMatch(await rows().first().innerText(), /Flow10Error/, 'by last seen, the issue with old events is not first');
  await page.getByTestId('issue-sort').selectOption('events');
  await page.waitForURL(/sort=events/);
  await rows().first().filter({ hasText: 'Flow10Error' }).waitFor();
  assert.equal(await rows().first().locator('td.col-num[title="3"]').count(), 1, 'the issue with three events comes first');

  const search = page.getByTestId('issue-search');
  await search.fill(`Flow37Error`);
  await search.press('Enter');
  await page.waitForURL(/query=Flow37Error/);
  await rowsCounted(1);
  assert.match(await rows().first().innerText(), /Flow37Error/);
  await shot('03-issues-sorted-searched');
});

test('bulk actions resolve the selected issues and reopen them from the resolved tab', async () => {
  assert.ok(project, 'needs the issues of the earlier test');
  await page.goto(`${WEB}/p/${project}/issues?level=warning`);
  await rows().nth(1).waitFor();
  await page.getByTestId('issue-select-all').check();
  assert.match(await page.getByTestId('bulk-bar').innerText(), /2 selected/);
  await page.getByTestId('bulk-resolve').click();
  await page.getByTestId('issues-empty').waitFor();
  await tabCount('resolved').filter({ hasText: /^2$/ }).waitFor();

  await page.getByTestId('issue-tab-resolved').click();
  await page.waitForURL(/status=resolved/);
  await rows().nth(1).waitFor();
  const reopened = await rows().first().getByTestId('issue-title').innerText();
  await rows().first().getByTestId('issue-select').check();
  await page.getByTestId('bulk-reopen').click();
  await rows().filter({ hasText: reopened }).waitFor({ state: 'detached' });
  await tabCount('resolved').filter({ hasText: /^1$/ }).waitFor();
  assert.equal(await rows().count(), 1);
  await shot('04-bulk-reopened');

  await page.getByTestId('issue-tab-active').click();
  await rows().filter({ hasText: reopened }).waitFor();
  assert.equal(await rows().count(), 1, 'the reopened issue is active again, the other stays resolved');
  // The server agrees: the counts come from the API.
  await tabCount('active').filter({ hasText: /^1$/ }).waitFor();
});

/** A PNG of `width` × `height` gray pixels, encoded here so the test knows what the browser must decode. */
function png(width, height) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale
  const scanlines = Buffer.concat(Array.from({ length: height }, () => Buffer.from([0, ...Array(width).fill(0x80)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines)), chunk('IEND', Buffer.alloc(0))]);
}

test("an event's screenshot shows on its issue page as the image that was uploaded", async () => {
  assert.ok(project, 'needs the project of the first test');
  const bytes = png(7, 3);
  const sent = event(99);
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/png' }), 'screen.png');
  const upload = await fetch(`${WEB}/v1/events/${sent.id}/attachments/screenshot`, {
    method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form,
  });
  const answer = await upload.text();
  assert.equal(upload.status, 201, answer);
  sent.attachments = [{ ref: JSON.parse(answer).refId, kind: 'screenshot' }];
  await post('/v1/events', sent, 202);

  await reloadUntil(`/p/${project}/issues?query=Flow99Error`, () => rows().or(page.getByTestId('issues-empty')),
    async () => (await rows().count()) === 1, 'the event is stored');
  await rows().first().getByTestId('issue-title').click();
  const image = page.getByTestId('attachment-image');
  await image.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('[data-testid="attachment-image"]')?.naturalWidth > 0);
  assert.deepEqual(await image.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [7, 3], 'the browser decoded the uploaded PNG');
  const served = await page.request.get(new URL(await image.getAttribute('src'), WEB).href);
  assert.equal(served.status(), 200);
  assert.ok(Buffer.from(await served.body()).equals(bytes), 'the file is served byte for byte');
  assert.match(await page.getByTestId('attachment').innerText(), /screenshot[\s\S]*image\/png/);
  await shot('05-attachment');
});

test('a release shows its health, and a source map uploaded for it is listed and can be deleted', async () => {
  assert.ok(project, 'needs the events of the earlier tests');
  await post('/v1/deploys', { release: RELEASE, environment: 'prod' }, 201);
  await page.goto(`${WEB}/p/${project}/issues`);
  await page.getByTestId('nav-releases').click();
  await page.waitForURL(/\/releases$/);
  const row = page.getByTestId('release-row').filter({ hasText: RELEASE });
  await row.waitFor();
  assert.equal(await page.getByTestId('release-row').count(), 1, 'only this project’s release');
  await row.locator('.release-name').click();
  await page.getByTestId('release-page').waitFor();
  // Every event the earlier tests sent is in this release.
  await reloadUntil(`/p/${project}/releases/${encodeURIComponent(RELEASE)}`, () => page.getByTestId('release-health'),
    async () => /Deployed/.test(await page.getByTestId('release-health').innerText()), 'the deploy is recorded');
  const health = await page.getByTestId('release-health').innerText();
  assert.match(health, new RegExp(`Events\\s+${ISSUES + 2 + 1}\\b`), health);
  assert.match(health, new RegExp(`New issues\\s+${ISSUES + 1}\\b`), health);
  await page.getByTestId('artifacts-empty').waitFor();

  // Uploaded as a build script would, with the operator's session.
  const me = await (await page.request.get(`${WEB}/admin/api/me`)).json();
  const map = { version: 3, file: 'app.min.js', sources: ['src/flow.ts'], names: [], mappings: 'AAAA' };
  const upload = await page.request.post(`${WEB}/admin/api/projects/${project}/releases/${encodeURIComponent(RELEASE)}/artifacts`, {
    headers: { 'x-sentori-csrf': me.csrfToken },
    multipart: { file: { name: 'app.min.js.map', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(map)) } },
  });
  assert.equal(upload.status(), 200, await upload.text());
  await page.reload();
  const artifact = page.getByTestId('artifact-row').filter({ hasText: 'app.min.js.map' });
  await artifact.waitFor();
  assert.match(await artifact.innerText(), /sourcemap/);
  await shot('06-release-artifact');
  // Deleting asks for a second click.
  await artifact.getByTestId('artifact-delete').click();
  await artifact.getByTestId('artifact-delete').click();
  await page.getByTestId('artifacts-empty').waitFor();
});

test('the traces list shows a trace by its root and narrows by operation', async () => {
  assert.ok(project, 'needs the project of the first test');
  const traceId = randomUUID();
  const root = randomUUID();
  const start = Date.now() - 3_000;
  for (const [id, parentSpanId, op, name, offset] of [[root, null, 'ui.load', `FlowScreen ${RUN}`, 0],
                                                      [randomUUID(), root, 'http.client', 'GET /api/flow', 100]]) {
    await post('/v1/spans', { id, traceId, parentSpanId, op, name, startedAt: new Date(start + offset).toISOString(),
      durationMs: 400, status: 'ok' }, 202);
  }
  const listed = () => page.getByTestId('trace-row').filter({ hasText: `FlowScreen ${RUN}` });
  await reloadUntil(`/p/${project}/traces`, () => page.getByTestId('traces-table').or(page.getByTestId('traces-empty')),
    async () => (await listed().count()) === 1, 'the trace is stored');
  assert.equal(await page.getByTestId('trace-row').count(), 1, 'only this project’s trace');
  await shot('07-traces');

  await page.getByTestId('trace-op-filter').fill('http.server');
  await page.getByTestId('trace-op-filter').press('Enter');
  await page.getByTestId('traces-empty').waitFor();
  await page.getByTestId('trace-op-filter').fill('ui.load');
  await page.getByTestId('trace-op-filter').press('Enter');
  await listed().waitFor();
  await listed().locator(`a[href$="${traceId}"]`).first().click();
  await page.waitForURL(new RegExp(`/traces/${traceId}$`));
});

test('the status page reports the round trips, every stream and the last retention run', async () => {
  await page.getByTestId('nav-status').click();
  await page.waitForURL(/\/status$/);
  await page.getByTestId('streams-table').waitFor();
  assert.match(await page.getByTestId('round-trips').innerText(), /\d/);
  const streams = await page.getByTestId('stream-row').evaluateAll((rows) => rows.map((r) => r.dataset.stream));
  for (const stream of ['events', 'spans', 'sessions', 'deploys', 'notify']) {
    assert.ok(streams.some((s) => s.includes(stream)), `${stream} in ${streams}`);
  }
  // No retention service runs in this suite.
  await page.getByTestId('retention-none').waitFor();
  await shot('08-status');
});

test('logging out ends the session on the server, not only in the tab', async () => {
  const cookie = (await context.cookies()).find((c) => c.name === 'sentori_session');
  assert.ok(cookie, 'logged in with a session cookie');
  const me = () => fetch(`${WEB}/admin/api/me`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
  assert.equal((await me()).status, 200);

  await page.getByTestId('logout').click();
  await page.waitForURL(/\/login/);
  await page.getByTestId('login-password').waitFor();
  assert.equal((await me()).status, 401, 'the old cookie no longer works');
  await page.goto(`${WEB}/p/${project}/issues`);
  await page.waitForURL(/\/login/);
  await shot('09-logged-out');
});

test('a session that ended elsewhere sends a deep link to the login page, and back after logging in', async () => {
  // The page renders beside the /me probe when this browser has logged in
  // before; a session the server no longer knows must still end on the login page.
  await logIn(page, WEB, PASSWORD);
  await context.clearCookies();
  await page.goto(`${WEB}/p/${project}/issues?level=warning`);
  await page.waitForURL(/\/login\?next=/);
  assert.equal(new URL(page.url()).searchParams.get('next'), `/p/${project}/issues?level=warning`);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === `/p/${project}/issues` && url.searchParams.get('level') === 'warning');
  await rows().first().waitFor();
});
