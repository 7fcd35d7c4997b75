// The official @sentry/browser SDK, unchanged, in headless Chromium: a page on
// another origin reports to Sentori through deploy/nginx.conf with the DSN the
// admin API gives (the key travels as ?sentry_key=, so no preflight), and the
// admin API shows the issue, its cause and the page's tags. A minified bundle
// whose map was uploaded per release (Sentori's own upload route) reports
// frames that the processor maps back to the original file, line and name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import * as esbuild from 'esbuild';
import { launchBrowser } from '../lib/browser.mjs';

const WEB = process.env.SENTORI_WEB_URL;
const TOKEN = process.env.SENTORI_DEV_TOKEN;
const DEV_PROJECT = '019508a0-0000-7000-8000-000000000000';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SKU = `pear-${randomUUID().slice(0, 8)}`;

let browser;

before(async () => {
  assert.ok(WEB && TOKEN, 'run through e2e/browser/run.sh');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

async function admin(pathAndQuery, init = {}) {
  const response = await fetch(`${WEB}/admin/api/projects/${DEV_PROJECT}${pathAndQuery}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers || {}) },
  });
  return { status: response.status, body: await response.json() };
}

async function eventually(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** @sentry/browser from npm as one script, the way a site's bundler would ship it. */
async function sdkBundle() {
  const result = await esbuild.build({
    stdin: { contents: "import * as Sentry from '@sentry/browser'; window.Sentry = Sentry;", resolveDir: HERE },
    bundle: true,
    format: 'iife',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0].text;
}

const PAGE = (dsn) => `<!doctype html><html><head><title>shop</title><script src="/sdk.js"></script></head><body>
<script>
  Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: 'webshop@3.0.0', environment: 'browser-test' });
  Sentry.setTag('page', 'checkout');
  function loadPrice(sku) { throw new RangeError('unknown sku ' + sku); }
  function checkout(sku) {
    try { return loadPrice(sku); } catch (err) { throw new Error('checkout failed for ' + sku, { cause: err }); }
  }
  window.report = async () => {
    let id;
    try { checkout(${JSON.stringify(SKU)}); } catch (err) { id = Sentry.captureException(err); }
    const flushed = await Sentry.flush(10000);
    return { id, flushed };
  };
</script></body></html>`;

async function publicDsn(label) {
  const created = await admin('/tokens', { method: 'POST', body: JSON.stringify({ label }) });
  assert.equal(created.status, 201);
  const dsn = created.body.dsn;
  assert.ok(dsn.startsWith(`${new URL(WEB).protocol}//${created.body.token}@${new URL(WEB).host}/`), dsn);
  return dsn;
}

/**
 * Serves `files` (path -> [content type, body]) from its own origin (another
 * port), so every report is a cross-origin request; a real loopback server,
 * since Chromium refuses requests from public pages to loopback addresses
 * whatever CORS says.
 */
async function serveApp(files) {
  const app = http.createServer((request, response) => {
    const [type, body] = files[request.url] ?? files['/'];
    response.writeHead(200, { 'content-type': type });
    response.end(body);
  });
  await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
  return { app, origin: `http://127.0.0.1:${app.address().port}` };
}

/** The dashed form of a Sentry event id (32 hex digits). */
function dashed(id) {
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
}

test('a page with @sentry/browser reports through nginx with ?sentry_key=', async () => {
  const dsn = await publicDsn('browser sdk');
  const bundle = await sdkBundle();
  const { app, origin: appOrigin } = await serveApp({ '/sdk.js': ['text/javascript', bundle], '/': ['text/html', PAGE(dsn)] });
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  const sent = [];
  page.on('request', (request) => {
    if (request.url().includes('/envelope/')) sent.push({ url: request.url(), method: request.method() });
  });
  const answers = [];
  page.on('requestfinished', async (request) => {
    if (request.url().includes('/envelope/')) answers.push((await request.response())?.status() ?? 'no response');
  });
  page.on('requestfailed', (request) => {
    if (request.url().includes('/envelope/')) answers.push(`failed: ${request.failure()?.errorText}`);
  });
  await page.goto(`${appOrigin}/checkout`);
  const { id, flushed } = await page.evaluate(() => window.report());
  assert.ok(flushed, 'the SDK flushed');
  assert.ok(sent.length > 0 && sent.every((r) => r.method === 'POST' && r.url.includes('sentry_key=')), JSON.stringify(sent));
  await eventually(`the envelope answers (${JSON.stringify(answers)}; console: ${consoleLines.join(' | ')})`, () => answers.length >= sent.length);
  assert.ok(answers.every((status) => status === 200), `${JSON.stringify(answers)}; console: ${consoleLines.join(' | ')}`);
  await context.close();
  app.close();

  const title = `Error: checkout failed for ${SKU}`;
  const issue = await eventually(`the issue ${title}`, async () => {
    const { body } = await admin('/issues?status=all');
    return body.find((i) => i.title === title);
  });
  assert.equal(issue.lastRelease, 'webshop@3.0.0');
  assert.ok(issue.culprit.startsWith('checkout ('), issue.culprit);
  const eventId = dashed(id);
  const event = await eventually('the stored event', async () => {
    const { status, body } = await admin(`/events/${eventId}`);
    return status === 200 && body;
  });
  assert.equal(event.platform, 'javascript');
  assert.equal(event.device.os, 'web');
  assert.equal(event.tags.page, 'checkout');
  assert.equal(event.error.cause.type, 'RangeError');
  assert.equal(event.error.cause.message, `unknown sku ${SKU}`);
  assert.equal(event.error.cause.stack[0].function, 'loadPrice');
  assert.ok(event.sdk.startsWith('sentry.javascript.browser/'), event.sdk);
});

// The app's own code, as a bundler minifies it; line 3 throws.
const PRICING = `function priceOf(sku) {
  const table = { apple: 1 };
  if (!(sku in table)) throw new TypeError('no price for ' + sku);
  return table[sku];
}
window.reportPrice = async (sku) => {
  let id;
  try { priceOf(sku); } catch (err) { id = Sentry.captureException(err); }
  return { id, flushed: await Sentry.flush(10000) };
};
`;

test('a minified bundle reported by @sentry/browser is mapped with the map uploaded for its release', async () => {
  const release = `webshop@3.1.${Date.now() % 100000}`;
  const built = await esbuild.build({
    stdin: { contents: PRICING, sourcefile: 'src/pricing.js', resolveDir: HERE },
    bundle: true,
    minify: true,
    format: 'iife',
    sourcemap: 'external',
    outfile: path.join(HERE, 'app.min.js'),
    write: false,
    logLevel: 'error',
  });
  const js = built.outputFiles.find((f) => f.path.endsWith('app.min.js')).text;
  const map = built.outputFiles.find((f) => f.path.endsWith('app.min.js.map')).text;
  assert.ok(!js.includes('priceOf'), 'the bundle is minified');

  const form = new FormData();
  form.append('file', new Blob([map], { type: 'application/json' }), 'app.min.js.map');
  const upload = await fetch(`${WEB}/admin/api/releases/${encodeURIComponent(release)}/sourcemaps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: form,
  });
  assert.equal(upload.status, 200, await upload.text());

  const dsn = await publicDsn('browser sdk, minified');
  const page = `<!doctype html><html><head><script src="/sdk.js"></script></head><body>
<script>Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: ${JSON.stringify(release)} });</script>
<script src="/assets/app.min.js"></script></body></html>`;
  const { app, origin } = await serveApp({
    '/sdk.js': ['text/javascript', await sdkBundle()],
    '/assets/app.min.js': ['text/javascript', js],
    '/': ['text/html', page],
  });
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(`${origin}/shop`);
  const { id, flushed } = await tab.evaluate(() => window.reportPrice('pear'));
  assert.ok(flushed, 'the SDK flushed');
  await context.close();
  app.close();

  const event = await eventually('the stored, symbolicated event', async () => {
    const { status, body } = await admin(`/events/${dashed(id)}`);
    return status === 200 && body;
  });
  const top = event.error.stack[0];
  assert.equal(event.error.message, 'no price for pear');
  assert.ok(top.file.endsWith('src/pricing.js'), JSON.stringify(top));
  assert.equal(top.line, 3, JSON.stringify(top));
  assert.equal(top.function, 'priceOf', JSON.stringify(top));
  assert.ok(top.rawFile.endsWith('/assets/app.min.js'), JSON.stringify(top));
});
