// The text shown right after a project or token is created, so a developer
// can paste it and see the first event arrive. Plain strings rendered as React
// text; nothing here is ever parsed as HTML.

/** npm package of the JavaScript SDK: change it here if the real SDK's name differs. */
export const JS_SDK_PACKAGE = '@sentori/browser';

export interface SnippetInput {
  /** Origin that serves /v1/* (the dashboard's own origin behind nginx). */
  ingestUrl: string;
  token: string;
  release?: string;
  environment?: string;
}

function jsString(value: string): string {
  // JSON string literals are valid JavaScript string literals.
  return JSON.stringify(value);
}

export function jsSdkSnippet({ ingestUrl, token, release, environment }: SnippetInput): string {
  return [
    `// npm install ${JS_SDK_PACKAGE}`,
    `import * as Sentori from ${jsString(JS_SDK_PACKAGE)};`,
    '',
    'Sentori.init({',
    `  ingestUrl: ${jsString(trimSlash(ingestUrl))},`,
    `  token: ${jsString(token)},`,
    `  release: ${jsString(release ?? 'myapp@1.0.0+1')},`,
    `  environment: ${jsString(environment ?? 'prod')},`,
    '});',
    '',
  ].join('\n');
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A curl command that posts one minimal, valid event, to check the
 * pipeline before any SDK is wired in. `id` and `now` are parameters so
 * the output is deterministic under test.
 */
export function curlTestEventSnippet(input: SnippetInput & { id: string; now: string }): string {
  const event = {
    id: input.id,
    timestamp: input.now,
    kind: 'message',
    level: 'info',
    message: 'Hello from Sentori setup',
    platform: 'javascript',
    release: input.release ?? 'myapp@1.0.0+1',
    environment: input.environment ?? 'prod',
    device: { os: 'web', osVersion: 'curl' },
    app: { version: '1.0.0' },
  };
  return [
    `curl -sS -X POST ${shellQuote(`${trimSlash(input.ingestUrl)}/v1/events`)} \\`,
    `  -H ${shellQuote(`Authorization: Bearer ${input.token}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(event))}`,
    '',
  ].join('\n');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** A random v4 UUID; crypto.randomUUID is missing on plain-http origins. */
export function randomUuid(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const b = random(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Platforms with a Sentry SDK setup snippet, in the order they are offered. */
export const SENTRY_PLATFORMS = ['javascript', 'node', 'python', 'rust'] as const;
export type SentryPlatform = (typeof SENTRY_PLATFORMS)[number];

function pyString(value: string): string {
  // JSON string literals are valid Python string literals for these values.
  return JSON.stringify(value);
}

/**
 * Setting up an official Sentry SDK, unchanged, with a Sentori DSN: the
 * DSN is all it needs.
 */
export function sentrySdkSnippet(platform: SentryPlatform, dsn: string): string {
  switch (platform) {
    case 'javascript':
      return [
        '// npm install @sentry/browser',
        'import * as Sentry from "@sentry/browser";',
        '',
        `Sentry.init({ dsn: ${jsString(dsn)}, release: "myapp@1.0.0" });`,
        '',
      ].join('\n');
    case 'node':
      return [
        '// npm install @sentry/node',
        'import * as Sentry from "@sentry/node";',
        '',
        `Sentry.init({ dsn: ${jsString(dsn)}, release: "myapp@1.0.0", tracesSampleRate: 1.0 });`,
        '',
      ].join('\n');
    case 'python':
      return [
        '# pip install sentry-sdk',
        'import sentry_sdk',
        '',
        `sentry_sdk.init(dsn=${pyString(dsn)}, release="myapp@1.0.0", traces_sample_rate=1.0)`,
        '',
      ].join('\n');
    case 'rust':
      return [
        '// cargo add sentry',
        `let _guard = sentry::init(sentry::ClientOptions::new().dsn(${jsString(dsn)}).release("myapp@1.0.0"));`,
        '',
      ].join('\n');
  }
}
