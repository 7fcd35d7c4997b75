// Anything that came from an SDK is untrusted. A string may become a link
// only when it parses as an absolute http(s) URL; everything else (javascript:,
// data:, vbscript:, relative paths that could be protocol-relative) is shown
// as plain text by the caller.

export function safeHttpUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (!/^https?:\/\//i.test(trimmed)) return null;
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  return parsed.href;
}

/** One path segment of an admin-api URL (release names carry '@', '+', '/'). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

/** A query string from defined, non-empty values only. */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * Where to go after login: only a path on this origin. `//host` and
 * `/\host` are rejected because browsers treat them as other origins.
 */
export function safeNextPath(value: string | null | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (value.startsWith('/login')) return '/';
  return value;
}
