// Triage in a real browser: the issue list driven by the keyboard (j/k,
// Enter, r, /, ?), assigning an issue, its activity log filling in, silencing
// it for an hour, merging one issue into another, deleting an issue, bulk
// merge and delete on the list, and copying a permalink and an event's JSON.
// Every issue here is this file's own (its error types carry RUN), so the
// other test files' issues in the same database are never touched.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ingest, launchBrowser, logIn, screenshot } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const PASSWORD = process.env.SENTORI_ADMIN_PASSWORD;
const TOKEN = process.env.SENTORI_DEV_TOKEN;
const SHOTS = process.env.SENTORI_SCREENSHOT_DIR;
const DEV_PROJECT = '019508a0-0000-7000-8000-000000000000';
const RUN = `triage${randomUUID().slice(0, 8)}`;
const LIST = `${WEB}/p/${DEV_PROJECT}/issues`;

let browser;
let page;

const shot = (name) => screenshot(page, name);

before(async () => {
  assert.ok(WEB && PASSWORD && TOKEN && SHOTS, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: WEB });
  page = await context.newPage();
  await logIn(page, WEB, PASSWORD);
});

after(async () => {
  await browser?.close();
});

/** Sends one error event of type `<name>Error<RUN>`; answers its id. */
async function sendEvent(name) {
  const id = randomUUID();
  await ingest(WEB, TOKEN, '/v1/events', {
    id, timestamp: new Date().toISOString(), kind: 'error', platform: 'javascript', release: 'shop@3.1.0', environment: 'prod',
    device: { os: 'web', osVersion: '124' }, app: { version: '3.1.0' }, user: { id: `user-${name}` },
    error: { type: `${name}Error${RUN}`, message: `${name} went wrong`, stack: [{ file: 'app.js', line: 1, function: name, inApp: true }] },
  });
  return id;
}

/** The admin API as a script calls it, with the dev token. */
async function admin(path) {
  const response = await fetch(`${WEB}/admin/api/projects/${DEV_PROJECT}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: response.status, body: await response.json() };
}

/** This run's issue of `<name>Error<RUN>`, once the processor has stored `events` of its events. */
async function issueOf(name, events = 1) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body } = await admin(`/issues?status=all&type=${name}Error${RUN}`);
    if (body.length === 1 && body[0].eventCount >= events) return body[0];
    assert.ok(Date.now() < deadline, `${name} has ${events} events within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The list, narrowed to this run's issues of the status tab. */
async function openList(status = 'active') {
  await page.goto(`${LIST}?status=${status}&query=${RUN}`);
  await page.getByTestId('issues-table').or(page.getByTestId('issues-empty')).first().waitFor();
}

const focusedId = () => page.locator('[data-testid="issue-row"][data-focused="true"]').getAttribute('data-issue-id');
const rowIds = () => page.getByTestId('issue-row').evaluateAll((rows) => rows.map((r) => r.dataset.issueId));

/** Activity kinds on the issue page's Activity tab, newest first, once `kind` is among them. */
async function activityKinds(kind) {
  await page.getByTestId('tab-activity').click();
  await page.locator(`[data-testid="activity-entry"][data-kind="${kind}"]`).first().waitFor();
  return page.getByTestId('activity-entry').evaluateAll((entries) => entries.map((e) => e.dataset.kind));
}

test('the list moves with j and k, opens with Enter, resolves with r, and searches with /', async () => {
  for (const name of ['Keyone', 'Keytwo', 'Keythree']) await sendEvent(name);
  for (const name of ['Keyone', 'Keytwo', 'Keythree']) await issueOf(name);
  await openList();
  const ids = await rowIds();
  assert.equal(ids.length, 3, 'the run\'s three issues');
  assert.equal(await page.locator('[data-focused="true"]').count(), 0, 'no row before a key is pressed');

  await page.keyboard.press('j');
  assert.equal(await focusedId(), ids[0]);
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  assert.equal(await focusedId(), ids[2], 'j stops at the last row');
  await page.keyboard.press('k');
  assert.equal(await focusedId(), ids[1]);
  await shot('60-triage-keyboard');

  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === `/p/${DEV_PROJECT}/issues/${ids[1]}`);
  await page.getByTestId('issue-page').waitFor();

  await openList();
  await page.keyboard.press('j');
  assert.equal(await focusedId(), ids[0]);
  await page.keyboard.press('r');
  await page.locator(`[data-issue-id="${ids[0]}"]`).waitFor({ state: 'detached' });
  assert.equal((await admin(`/issues/${ids[0]}`)).body.status, 'resolved', 'r resolved the focused issue');
  assert.deepEqual(await rowIds(), ids.slice(1));

  // `/` focuses the search box; a j typed there is text, not a move.
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'issue-search');
  const focusedBefore = await focusedId();
  await page.keyboard.type(' j');
  assert.match(await page.getByTestId('issue-search').inputValue(), / j$/);
  assert.equal(await focusedId(), focusedBefore);
  await page.keyboard.press('Escape');
  await page.getByTestId('issues-table').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  await page.getByTestId('shortcut-help').waitFor();
  assert.match(await page.getByTestId('shortcut-help').innerText(), /Resolve the issue/);
  await shot('61-triage-shortcut-help');
  await page.keyboard.press('Escape');
  await page.getByTestId('shortcut-help').waitFor({ state: 'detached' });
});

test('assigning, silencing for an hour and the activity log on the issue page', async () => {
  await sendEvent('Assign');
  const issue = await issueOf('Assign');
  await page.goto(`${LIST}/${issue.id}`);
  await page.getByTestId('issue-page').waitFor();

  await page.getByTestId('assignee-edit').click();
  await page.getByTestId('assignee-input').fill('ada@example.com');
  await page.getByTestId('assignee-save').click();
  await page.getByTestId('assignee-name').waitFor();
  assert.equal(await page.getByTestId('assignee-name').innerText(), 'ada@example.com');
  assert.deepEqual(await activityKinds('assigned'), ['assigned', 'firstSeen']);
  assert.match(await page.locator('[data-kind="assigned"]').innerText(), /Assigned to ada@example\.com[\s\S]*by dashboard/);

  await page.getByTestId('status-silence').click();
  await page.getByTestId('silence-1h').click();
  await page.getByTestId('issue-silence').waitFor();
  assert.match(await page.getByTestId('issue-silence').innerText(), /^until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.deepEqual(await activityKinds('status'), ['status', 'assigned', 'firstSeen']);
  assert.match(await page.locator('[data-kind="status"]').innerText(), /Silenced until .* \(was active\)/);
  const { body } = await admin(`/issues/${issue.id}`);
  const hour = Date.parse(body.silencedUntil) - Date.now();
  assert.ok(hour > 58 * 60_000 && hour <= 3_600_000, `silenced for an hour: ${body.silencedUntil}`);
  await shot('62-triage-activity');

  // The list shows the assignee, and assigned: finds it.
  await page.goto(`${LIST}?status=all&assignee=ada%40example.com&query=${RUN}`);
  await page.getByTestId('issues-table').waitFor();
  assert.deepEqual(await rowIds(), [issue.id]);
  assert.match(await page.getByTestId('issue-assignee').innerText(), /ada@example\.com/);
  await page.getByTestId('issue-search').fill(`assigned:nobody-${RUN}`);
  await page.getByTestId('issue-search').press('Enter');
  await page.getByTestId('issues-empty').waitFor();
});

test('merging an issue into another moves its events there and leaves a note in the log', async () => {
  await sendEvent('Target');
  await sendEvent('Target');
  await sendEvent('Source');
  const target = await issueOf('Target', 2);
  const source = await issueOf('Source');
  await page.goto(`${LIST}/${source.id}`);
  await page.getByTestId('issue-page').waitFor();

  await page.getByTestId('merge-open').click();
  await page.getByTestId('merge-search').fill(`TargetError${RUN}`);
  const candidate = page.locator(`[data-testid="merge-candidate"][data-issue-id="${target.id}"]`);
  await candidate.click();
  await shot('63-triage-merge-picker');
  await page.getByTestId('merge-confirm').click();
  await page.waitForURL((url) => url.pathname === `/p/${DEV_PROJECT}/issues/${target.id}`);
  await page.getByTestId('issue-event-count').getByText('3').waitFor();
  assert.deepEqual((await activityKinds('merged')).slice(0, 1), ['merged']);
  assert.match(await page.locator('[data-kind="merged"]').innerText(), new RegExp(`Merged ${source.shortId} into this one`));
  await shot('64-triage-merged');

  const gone = await admin(`/issues/${source.id}`);
  assert.equal(gone.status, 404, 'the merged issue is gone');
  // Its fingerprint keeps sending events to the target.
  await sendEvent('Source');
  assert.equal((await issueOf('Target', 4)).id, target.id);
  assert.equal((await admin(`/issues?status=all&type=SourceError${RUN}`)).body.length, 0);
});

test('deleting an issue from its page, and merging and deleting in bulk on the list', async () => {
  const eventId = await sendEvent('Doomed');
  const doomed = await issueOf('Doomed');
  await page.goto(`${LIST}/${doomed.id}`);
  await page.getByTestId('event').waitFor();

  await page.getByTestId('copy-permalink').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${WEB}/p/${DEV_PROJECT}/issues/${doomed.id}`);
  await page.getByTestId('copy-event-json').click();
  const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
  assert.equal(copied.id, eventId);
  assert.equal(copied.error.type, `DoomedError${RUN}`);
  assert.equal(copied.nextEventId, undefined, 'the stored event, not the navigation around it');

  await page.getByTestId('issue-delete').click();
  await page.getByTestId('issue-delete').getByText(/Delete it and its events\?/).waitFor();
  await page.getByTestId('issue-delete').click();
  await page.waitForURL((url) => url.pathname === `/p/${DEV_PROJECT}/issues`);
  assert.equal((await admin(`/issues/${doomed.id}`)).status, 404);
  assert.equal((await admin(`/events/${eventId}`)).status, 404, 'its event went with it');
  await page.goto(`${LIST}/${doomed.id}`);
  await page.getByTestId('issue-missing').waitFor();

  for (const name of ['Bulkone', 'Bulkone', 'Bulktwo', 'Bulkthree']) await sendEvent(name);
  const [one, two, three] = [await issueOf('Bulkone', 2), await issueOf('Bulktwo'), await issueOf('Bulkthree')];
  await openList('all');
  const select = (issue) => page.locator(`[data-issue-id="${issue.id}"]`).getByTestId('issue-select').check();
  await select(one);
  await select(two);
  await page.getByTestId('bulk-merge').click();
  await page.getByTestId('bulk-merge').getByText(`Merge 2 into ${one.shortId}?`).waitFor();
  await page.getByTestId('bulk-merge').click();
  await page.locator(`[data-issue-id="${two.id}"]`).waitFor({ state: 'detached' });
  assert.equal((await issueOf('Bulkone', 3)).eventCount, 3, 'the one with more events took the other');

  await select(one);
  await select(three);
  await page.getByTestId('bulk-delete').click();
  await page.getByTestId('bulk-delete').click();
  await page.locator(`[data-issue-id="${one.id}"]`).waitFor({ state: 'detached' });
  await page.locator(`[data-issue-id="${three.id}"]`).waitFor({ state: 'detached' });
  assert.equal((await admin(`/issues/${one.id}`)).status, 404);
  assert.equal((await admin(`/issues/${three.id}`)).status, 404);
  await shot('65-triage-bulk');
});
