import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { loginError } from './loginError';

const message = (e: unknown) => (e as Error).message;

describe('loginError', () => {
  it('says the password was wrong instead of the generic 401 text', () => {
    const shown = loginError(new ApiError(401, 'unauthorized', 'Log in or send an admin token'));
    expect(message(shown)).toMatch(/^Wrong password/);
  });

  it('asks to wait after too many attempts', () => {
    expect(message(loginError(new ApiError(429, 'rateLimited', 'rate limited')))).toMatch(/wait a minute/i);
  });

  it('keeps other failures as they are', () => {
    const down = new ApiError(502, 'badResponse', 'The Sentori API is not reachable right now (HTTP 502).');
    expect(loginError(down)).toBe(down);
  });
});
