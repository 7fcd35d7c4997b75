import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS, hasNarrowingFilters, readIssueFilters, toIssueQuery, writeIssueFilters } from './issueFilters';

describe('readIssueFilters', () => {
  it('defaults to active issues by last seen', () => {
    expect(readIssueFilters(new URLSearchParams())).toEqual(DEFAULT_FILTERS);
  });
  it('reads every filter', () => {
    const f = readIssueFilters(new URLSearchParams('status=resolved&query=+TypeError+&release=app%401.2.3%2B4&environment=prod&sort=users'));
    expect(f).toEqual({ status: 'resolved', query: 'TypeError', release: 'app@1.2.3+4', environment: 'prod', sort: 'users' });
  });
  it('ignores values the API does not know', () => {
    const f = readIssueFilters(new URLSearchParams('status=regressed&sort=random'));
    expect(f.status).toBe('active');
    expect(f.sort).toBe('lastSeen');
  });
});

describe('writeIssueFilters', () => {
  it('leaves defaults out and round-trips the rest', () => {
    const filters = { ...DEFAULT_FILTERS, status: 'all' as const, release: 'app@2.0.0' };
    const params = writeIssueFilters(filters);
    expect(params.toString()).toBe('status=all&release=app%402.0.0');
    expect(readIssueFilters(params)).toEqual(filters);
  });
});

describe('toIssueQuery', () => {
  it('always sends status, sort and limit, and only set filters', () => {
    expect(toIssueQuery({ ...DEFAULT_FILTERS, environment: 'staging' })).toEqual({
      status: 'active',
      sort: 'lastSeen',
      limit: 50,
      environment: 'staging',
    });
  });
});

describe('hasNarrowingFilters', () => {
  it('is true only for search, release or environment', () => {
    expect(hasNarrowingFilters(DEFAULT_FILTERS)).toBe(false);
    expect(hasNarrowingFilters({ ...DEFAULT_FILTERS, status: 'all' })).toBe(false);
    expect(hasNarrowingFilters({ ...DEFAULT_FILTERS, query: 'x' })).toBe(true);
  });
});
