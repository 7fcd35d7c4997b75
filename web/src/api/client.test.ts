import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, buildUrl, request, requestPage, requestPaged, setCsrfToken, setUnauthorizedListener } from './client';

type Call = { url: string; init: RequestInit };
let calls: Call[];

function respond(status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(status === 204 ? null : text, { status, headers });
    }),
  );
}

beforeEach(() => {
  calls = [];
  setCsrfToken(null);
  setUnauthorizedListener(null);
});
afterEach(() => vi.unstubAllGlobals());

describe('buildUrl', () => {
  it('prefixes the API base and drops empty query values', () => {
    expect(buildUrl('/projects/p1/issues', { status: 'all', query: '', cursor: undefined, limit: 50 })).toBe(
      '/admin/api/projects/p1/issues?status=all&limit=50',
    );
  });
});

describe('request', () => {
  it('sends cookies same-origin and parses JSON', async () => {
    respond(200, [{ id: 'p1' }]);
    await expect(request('GET', '/projects')).resolves.toEqual([{ id: 'p1' }]);
    expect(calls[0]!.init.credentials).toBe('same-origin');
  });

  it('attaches the CSRF token to state-changing methods only', async () => {
    setCsrfToken('tok-123');
    respond(200, { ok: true });
    await request('POST', '/logout');
    await request('GET', '/me');
    await request('DELETE', '/projects/p/tokens/t');
    const header = (c: Call) => (c.init.headers as Record<string, string>)['X-Sentori-Csrf'];
    expect(calls.map(header)).toEqual(['tok-123', undefined, 'tok-123']);
  });

  it('sends a JSON body with its content type', async () => {
    respond(201, { id: 'r1' });
    await request('POST', '/projects/p/recipients', { body: { email: 'a@b.c' } });
    expect(calls[0]!.init.body).toBe('{"email":"a@b.c"}');
    expect((calls[0]!.init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('maps the error shape to ApiError with details', async () => {
    respond(400, {
      error: 'invalidEmail',
      message: 'That is not an email address',
      details: [{ field: 'email', message: 'must contain @' }],
    });
    const err = (await request('POST', '/x', { body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalidEmail', message: 'That is not an email address' });
    expect(err.details).toEqual([{ field: 'email', message: 'must contain @' }]);
  });

  it('explains a non-JSON gateway error', async () => {
    respond(502, '<html>bad gateway</html>');
    const err = (await request('GET', '/projects').catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('badResponse');
    expect(err.message).toContain('not reachable');
    expect(err.message).toContain('502');
  });

  it('turns a network failure into ApiError status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const err = (await request('GET', '/projects').catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ status: 0, code: 'network' });
  });

  it('signals a lost session on 401 unless asked to stay quiet', async () => {
    const listener = vi.fn();
    setUnauthorizedListener(listener);
    respond(401, { error: 'unauthorized', message: 'Log in again' });
    await request('GET', '/projects').catch(() => undefined);
    expect(listener).toHaveBeenCalledTimes(1);
    await request('GET', '/me', { quietUnauthorized: true }).catch(() => undefined);
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe('requestPage', () => {
  it('reads the next cursor from the header and sends it back', async () => {
    respond(200, [{ id: 'i1' }], { 'X-Next-Cursor': 'abc==' });
    const page = await requestPage('/projects/p/issues', { status: 'active' }, 'prev');
    expect(page).toEqual({ items: [{ id: 'i1' }], nextCursor: 'abc==' });
    expect(calls[0]!.url).toBe('/admin/api/projects/p/issues?status=active&cursor=prev');
  });

  it('has no next cursor on the last page', async () => {
    respond(200, []);
    expect((await requestPage('/projects')).nextCursor).toBeNull();
  });

  it('rejects a body that is not a list', async () => {
    respond(200, { nope: true });
    await expect(requestPage('/projects')).rejects.toMatchObject({ code: 'badResponse' });
  });
});

describe('requestPaged', () => {
  it('pages an object body by the same header (a trace and a page of its spans)', async () => {
    respond(200, { spanCount: 2500, spans: [{ id: 's1' }] }, { 'X-Next-Cursor': 'next' });
    const page = await requestPaged<{ spanCount: number }>('/projects/p/traces/t', {}, 'prev');
    expect(page).toEqual({ body: { spanCount: 2500, spans: [{ id: 's1' }] }, nextCursor: 'next' });
    expect(calls[0]!.url).toBe('/admin/api/projects/p/traces/t?cursor=prev');
    respond(200, { spanCount: 1, spans: [] });
    expect((await requestPaged('/projects/p/traces/t')).nextCursor).toBeNull();
  });
});

describe('ApiError.isNotFound', () => {
  it('holds for an unknown thing and for a path id that cannot name one', () => {
    expect(new ApiError(404, 'notFound', 'issue not found').isNotFound).toBe(true);
    expect(new ApiError(400, 'invalidPath', 'Invalid URL: Cannot parse `iid`').isNotFound).toBe(true);
  });

  it('does not hold for other failures, which may be worth a retry', () => {
    expect(new ApiError(400, 'invalid', 'limit must be at most 200').isNotFound).toBe(false);
    expect(new ApiError(500, 'internal', 'internal error').isNotFound).toBe(false);
    expect(new ApiError(0, 'network', 'Could not reach the server.').isNotFound).toBe(false);
  });

  it('is read from the API error body', async () => {
    respond(400, { error: 'invalidPath', message: 'Invalid URL: Cannot parse `iid` with value `nope`' });
    const error = await request('GET', '/projects/p/issues/nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).isNotFound).toBe(true);
  });
});
