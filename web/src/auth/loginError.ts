import { ApiError } from '../api';

/**
 * What the login form says when a login fails. The API answers a wrong
 * password with its generic 401 ("Log in or send an admin token"), which
 * reads as nonsense on the login form itself.
 */
export function loginError(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 401) return new ApiError(401, error.code, 'Wrong password. Check SENTORI_ADMIN_PASSWORD and try again.');
  if (error.status === 429) return new ApiError(429, error.code, 'Too many failed attempts. Wait a minute before trying again.');
  return error;
}
