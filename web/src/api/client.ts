// The one transport every admin-api call goes through: same-origin cookies,
// the CSRF header on state-changing methods, the error shape mapped to
// ApiError, and the X-Next-Cursor header read for paginated lists.
import type { Schema } from './types';

export const API_BASE = '/admin/api';
export const CSRF_HEADER = 'X-Sentori-Csrf';
export const NEXT_CURSOR_HEADER = 'X-Next-Cursor';

export class ApiError extends Error {
  readonly status: number;
  /** The lowerCamel `error` code, or `network` / `badResponse` for failures outside the API. */
  readonly code: string;
  readonly details: Array<{ field: string; message: string }>;
  readonly hint: string | null;

  constructor(status: number, code: string, message: string, details: Schema<'ErrorBody'>['details'] = [], hint?: string | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details ?? [];
    this.hint = hint ?? null;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }

  /**
   * The thing asked for is not there: unknown (404), or an id in the path
   * that cannot name anything (the API's `invalidPath`, e.g. a mistyped
   * UUID in a pasted link). Either way the user needs a way back, not a retry.
   */
  get isNotFound(): boolean {
    return this.status === 404 || (this.status === 400 && this.code === 'invalidPath');
  }
}

// The CSRF token lives only in memory (never localStorage, where any injected
// script could read it long after the page is gone); /me restores it on load.
let csrfToken: string | null = null;
// The /me probe that will set the token. Pages render while it is on its
// way (see RequireAuth), so a change sent before it answers waits for it
// rather than going out without the header.
let csrfPending: Promise<unknown> | null = null;
let unauthorizedListener: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setCsrfPending(probe: Promise<unknown> | null): void {
  csrfPending = probe;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

/** Called when any request other than the auth probes answers 401 (session ended). */
export function setUnauthorizedListener(listener: (() => void) | null): void {
  unauthorizedListener = listener;
}

/** Query parameters; a list repeats its key (`tag=a&tag=b`). */
export type Query = Record<string, string | number | boolean | readonly string[] | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Login and /me report 401 themselves rather than signalling a lost session. */
  quietUnauthorized?: boolean;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function buildUrl(path: string, query?: Query): string {
  const url = `${API_BASE}${path.startsWith('/') ? path : `/${path}`}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${url}?${text}` : url;
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  const text = await response.text().catch(() => '');
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (body && typeof body === 'object' && typeof (body as Schema<'ErrorBody'>).message === 'string') {
    const b = body as Schema<'ErrorBody'>;
    const details = Array.isArray(b.details)
      ? b.details.filter((d) => d && typeof d.message === 'string').map((d) => ({ field: String(d.field ?? ''), message: d.message }))
      : [];
    return new ApiError(response.status, typeof b.error === 'string' ? b.error : 'error', b.message, details, b.hint);
  }
  // Not our JSON: typically nginx answering for an admin-api that is down.
  const reason =
    response.status === 502 || response.status === 503 || response.status === 504
      ? 'The Sentori API is not reachable right now'
      : 'The server answered unexpectedly';
  return new ApiError(response.status, 'badResponse', `${reason} (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}).`);
}

export async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (STATE_CHANGING.has(method) && !csrfToken && csrfPending) await csrfPending.catch(() => undefined);
  if (STATE_CHANGING.has(method) && csrfToken) headers[CSRF_HEADER] = csrfToken;

  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (error.status === 401 && !options.quietUnauthorized) unauthorizedListener?.();
    throw error;
  }
  return response;
}

async function readJson<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(response.status, 'badResponse', 'The server sent a response that is not JSON.');
  }
}

export async function request<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
  return readJson<T>(await send(method, path, options));
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A response body and the cursor of the page after it (the X-Next-Cursor header), if any. */
export interface Paged<T> {
  body: T;
  nextCursor: string | null;
}

/** A cursor-paged GET whose body is any JSON value. */
export async function requestPaged<T>(path: string, query: Query = {}, cursor?: string | null, signal?: AbortSignal): Promise<Paged<T>> {
  const response = await send('GET', path, { query: { ...query, cursor: cursor ?? undefined }, signal });
  const body = await readJson<T>(response);
  const next = response.headers.get(NEXT_CURSOR_HEADER);
  return { body, nextCursor: next && next.trim() ? next.trim() : null };
}

/** A list endpoint: the body is the array, the next page's cursor is a header. */
export async function requestPage<T>(path: string, query: Query = {}, cursor?: string | null, signal?: AbortSignal): Promise<Page<T>> {
  const { body, nextCursor } = await requestPaged<T[]>(path, query, cursor, signal);
  if (!Array.isArray(body)) throw new ApiError(200, 'badResponse', 'Expected a list from the server.');
  return { items: body, nextCursor };
}

/** Same-origin URL of an attachment blob, usable as an <img src>. */
export function apiUrl(path: string): string {
  return buildUrl(path);
}
