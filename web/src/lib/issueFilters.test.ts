import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS, formatIssueSearch, hasNarrowingFilters, parseIssueSearch, readIssueFilters, toIssueQuery, writeIssueFilters } from './issueFilters';

describe('readIssueFilters', () => {
  it('defaults to active issues by last seen', () => {
    expect(readIssueFilters(new URLSearchParams())).toEqual(DEFAULT_FILTERS);
  });
  it('reads every filter', () => {
    const f = readIssueFilters(
      new URLSearchParams('status=resolved&query=+TypeError+&release=app%401.2.3%2B4&environment=prod&sort=users&kind=anr&level=fatal&user=u-1&tag=a%3D1&tag=junk'),
    );
    expect(f).toEqual({
      status: 'resolved', query: 'TypeError', release: 'app@1.2.3+4', environment: 'prod', sort: 'users',
      kind: 'anr', level: 'fatal', errorType: '', user: 'u-1', tags: ['a=1'], assignee: '', assigned: '',
    });
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
  it('is true for any filter but the status tab and the sort', () => {
    expect(hasNarrowingFilters(DEFAULT_FILTERS)).toBe(false);
    expect(hasNarrowingFilters({ ...DEFAULT_FILTERS, status: 'all', sort: 'events' })).toBe(false);
    expect(hasNarrowingFilters({ ...DEFAULT_FILTERS, query: 'x' })).toBe(true);
    expect(hasNarrowingFilters({ ...DEFAULT_FILTERS, tags: ['a=1'] })).toBe(true);
  });
});

describe('parseIssueSearch', () => {
  it('reads every filter and keeps the rest as text', () => {
    const { patch, problems } = parseIssueSearch('is:resolved release:"shop app@1.2" env:prod user:u-42 level:warning kind:anr type:TypeError tag:screen=checkout tag:plan=pro cannot read x');
    expect(problems).toEqual([]);
    expect(patch).toEqual({
      status: 'resolved',
      release: 'shop app@1.2',
      environment: 'prod',
      user: 'u-42',
      level: 'warning',
      kind: 'anr',
      errorType: 'TypeError',
      tags: ['screen=checkout', 'plan=pro'],
      assignee: '',
      assigned: '',
      query: 'cannot read x',
    });
  });
  it('treats a colon that names no filter as text, and reports what it cannot read', () => {
    expect(parseIssueSearch('TypeError: x is undefined').patch.query).toBe('TypeError: x is undefined');
    expect(parseIssueSearch('is:someday tag:screen').problems).toEqual(['is:someday', 'tag:screen']);
  });
  it('clears what only the box sets when the box no longer names it', () => {
    expect(parseIssueSearch('checkout').patch).toEqual({
      user: '', tags: [], kind: '', level: '', errorType: '', assignee: '', assigned: '', query: 'checkout',
    });
  });
  it('reads who an issue is assigned to, and whether to anyone', () => {
    expect(parseIssueSearch('assigned:alice@example.com crash').patch).toMatchObject({ assignee: 'alice@example.com', query: 'crash' });
    expect(parseIssueSearch('is:unassigned is:resolved').patch).toMatchObject({ assigned: 'no', status: 'resolved' });
    expect(parseIssueSearch('is:assigned').patch.assigned).toBe('yes');
  });
});

describe('the assignee filters', () => {
  it('go to the API and the URL and read back the same', () => {
    const filters = { ...DEFAULT_FILTERS, assignee: 'Jane Doe', assigned: 'yes' as const };
    expect(toIssueQuery(filters)).toMatchObject({ assignee: 'Jane Doe', assigned: true });
    expect(toIssueQuery({ ...filters, assigned: 'no' }).assigned).toBe(false);
    const params = writeIssueFilters(filters);
    expect(params.toString()).toBe('assignee=Jane+Doe&assigned=true');
    expect(readIssueFilters(params)).toEqual(filters);
    const text = formatIssueSearch(filters);
    expect(text).toBe('assigned:"Jane Doe" is:assigned');
    expect({ ...DEFAULT_FILTERS, ...parseIssueSearch(text).patch }).toEqual({ ...filters, query: '' });
  });
});

describe('formatIssueSearch', () => {
  it('writes what the box sets so that it reads back the same', () => {
    const filters = { ...DEFAULT_FILTERS, user: 'jane doe', errorType: 'TypeError', tags: ['screen=check out'], query: 'failed' };
    const text = formatIssueSearch(filters);
    expect(text).toBe('user:"jane doe" type:TypeError tag:"screen=check out" failed');
    const { patch } = parseIssueSearch(text);
    expect({ ...filters, ...patch }).toEqual(filters);
  });
});

describe('tags in the URL', () => {
  it('repeat the tag parameter and survive a round trip', () => {
    const filters = { ...DEFAULT_FILTERS, tags: ['screen=checkout', 'plan=pro'], user: 'u-1', errorType: 'E' };
    const params = writeIssueFilters(filters);
    expect(params.getAll('tag')).toEqual(['screen=checkout', 'plan=pro']);
    expect(params.get('type')).toBe('E');
    expect(readIssueFilters(params)).toEqual(filters);
    expect(toIssueQuery(filters).tag).toEqual(['screen=checkout', 'plan=pro']);
  });
});
