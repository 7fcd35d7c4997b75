// The issues list keeps its filters in the URL, so a filtered view can be
// bookmarked, shared and reloaded. Unknown values fall back to the defaults
// instead of being sent to the API.
import type { IssueQuery, IssueSort, IssueStatusFilter } from '../api/types';

export const STATUS_TABS: ReadonlyArray<{ value: IssueStatusFilter; label: string }> = [
  { value: 'active', label: 'Active' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'silenced', label: 'Silenced' },
  { value: 'all', label: 'All' },
];

export const SORTS: ReadonlyArray<{ value: IssueSort; label: string }> = [
  { value: 'lastSeen', label: 'Last seen' },
  { value: 'firstSeen', label: 'First seen' },
  { value: 'events', label: 'Events' },
  { value: 'users', label: 'Users' },
];

export interface IssueFilters {
  status: IssueStatusFilter;
  query: string;
  release: string;
  environment: string;
  sort: IssueSort;
}

export const DEFAULT_FILTERS: IssueFilters = { status: 'active', query: '', release: '', environment: '', sort: 'lastSeen' };

function oneOf<T extends string>(value: string | null, allowed: ReadonlyArray<{ value: T }>, fallback: T): T {
  return allowed.some((a) => a.value === value) ? (value as T) : fallback;
}

export function readIssueFilters(params: URLSearchParams): IssueFilters {
  return {
    status: oneOf(params.get('status'), STATUS_TABS, DEFAULT_FILTERS.status),
    query: (params.get('query') ?? '').trim(),
    release: params.get('release') ?? '',
    environment: params.get('environment') ?? '',
    sort: oneOf(params.get('sort'), SORTS, DEFAULT_FILTERS.sort),
  };
}

/** URL parameters for `filters`, leaving defaults out to keep links short. */
export function writeIssueFilters(filters: IssueFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ['status', 'query', 'release', 'environment', 'sort'] as const) {
    const value = filters[key];
    if (value && value !== DEFAULT_FILTERS[key]) params.set(key, value);
  }
  return params;
}

/** The API query for `filters`: always explicit about status and sort. */
export function toIssueQuery(filters: IssueFilters, limit = 50): IssueQuery {
  const query: IssueQuery = { status: filters.status, sort: filters.sort, limit };
  if (filters.query) query.query = filters.query;
  if (filters.release) query.release = filters.release;
  if (filters.environment) query.environment = filters.environment;
  return query;
}

export function hasNarrowingFilters(filters: IssueFilters): boolean {
  return !!(filters.query || filters.release || filters.environment);
}
