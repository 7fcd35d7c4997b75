import { describe, expect, it } from 'vitest';
import { JS_SDK_PACKAGE, SENTRY_PLATFORMS, curlTestEventSnippet, jsSdkSnippet, randomUuid, sentrySdkSnippet } from './snippet';

const TOKEN = 'st_pk_0123456789abcdefghjkmnpqrs';

describe('jsSdkSnippet', () => {
  it('initialises the SDK with the ingest origin and the token', () => {
    const text = jsSdkSnippet({ ingestUrl: 'https://errors.example.com/', token: TOKEN });
    expect(text).toContain(`import * as Sentori from "${JS_SDK_PACKAGE}";`);
    expect(text).toContain('  ingestUrl: "https://errors.example.com",');
    expect(text).toContain(`  token: "${TOKEN}",`);
    expect(text).toContain('  environment: "prod",');
  });

  it('escapes quotes so an odd release name cannot break the code', () => {
    const text = jsSdkSnippet({ ingestUrl: 'http://x', token: TOKEN, release: 'a"b' });
    expect(text).toContain('release: "a\\"b",');
  });
});

describe('curlTestEventSnippet', () => {
  const text = curlTestEventSnippet({
    ingestUrl: 'http://127.0.0.1:8000',
    token: TOKEN,
    id: '01950000-0000-7000-8000-000000000001',
    now: '2025-06-15T12:00:00.000Z',
  });

  it('posts to /v1/events with a bearer token', () => {
    expect(text.split('\n')[0]).toBe(`curl -sS -X POST 'http://127.0.0.1:8000/v1/events' \\`);
    expect(text).toContain(`-H 'Authorization: Bearer ${TOKEN}'`);
  });

  it('sends an event with every field the protocol requires', () => {
    const body = text.match(/-d '(.*)'\n/)![1]!;
    const event = JSON.parse(body);
    expect(event).toMatchObject({
      id: '01950000-0000-7000-8000-000000000001',
      timestamp: '2025-06-15T12:00:00.000Z',
      kind: 'message',
      level: 'info',
      platform: 'javascript',
      device: { os: 'web', osVersion: 'curl' },
      app: { version: '1.0.0' },
    });
    expect(event.message).toBeTruthy();
    expect(event.release).toBeTruthy();
    expect(event.environment).toBeTruthy();
  });

  it("quotes single quotes for the shell", () => {
    const t = curlTestEventSnippet({ ingestUrl: 'http://x', token: TOKEN, id: 'i', now: 'n', environment: "it's" });
    expect(t).toContain(`it'\\''s`);
  });
});

describe('randomUuid', () => {
  it('sets the version and variant bits', () => {
    const id = randomUuid((b) => b.fill(0xff));
    expect(id).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(randomUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('sentrySdkSnippet', () => {
  const DSN = `https://${TOKEN}@errors.example.com/3`;

  it('passes the DSN unchanged to each official SDK', () => {
    for (const platform of SENTRY_PLATFORMS) {
      expect(sentrySdkSnippet(platform, DSN)).toContain(`"${DSN}"`);
    }
    expect(sentrySdkSnippet('python', DSN)).toContain(`sentry_sdk.init(dsn="${DSN}"`);
    expect(sentrySdkSnippet('javascript', DSN)).toContain('from "@sentry/browser"');
    expect(sentrySdkSnippet('node', DSN)).toContain('from "@sentry/node"');
    expect(sentrySdkSnippet('rust', DSN)).toContain('.dsn(');
  });

  it('escapes quotes so an odd DSN cannot break the code', () => {
    expect(sentrySdkSnippet('python', 'http://k@h/1"')).toContain('"http://k@h/1\\""');
  });
});
