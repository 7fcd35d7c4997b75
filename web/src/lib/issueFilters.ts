// The issues list keeps its filters in the URL, so a filtered view can be
// bookmarked, shared and reloaded. Unknown values fall back to the defaults
// instead of being sent to the API.
//
// The search box speaks a small syntax on top of free text:
//   is:resolved  release:app@1.2  env:prod  user:u-42  level:warning
//   kind:anr  type:TypeError  tag:screen=checkout  assigned:alice@example.com
//   is:assigned  is:unassigned
// Values with spaces are quoted: release:"my app@1.2".
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

export const KINDS: ReadonlyArray<{ value: string; label: string }> = [
  { value: 'error', label: 'Errors' },
  { value: 'anr', label: 'ANRs' },
  { value: 'nearCrash', label: 'Near crashes' },
  { value: 'message', label: 'Messages' },
];

export const LEVELS: ReadonlyArray<{ value: string; label: string }> = [
  { value: 'fatal', label: 'Fatal' },
  { value: 'error', label: 'Error' },
  { value: 'warning', label: 'Warning' },
  { value: 'info', label: 'Info' },
  { value: 'debug', label: 'Debug' },
];

export interface IssueFilters {
  status: IssueStatusFilter;
  /** Free text: title, culprit and type. */
  query: string;
  release: string;
  environment: string;
  kind: string;
  level: string;
  errorType: string;
  user: string;
  /** `key=value` each; one event must carry them all. */
  tags: string[];
  /** Assigned to this name or email. */
  assignee: string;
  /** Assigned to anyone (`yes`) or no one (`no`). */
  assigned: '' | 'yes' | 'no';
  sort: IssueSort;
}

export const DEFAULT_FILTERS: IssueFilters = {
  status: 'active',
  query: '',
  release: '',
  environment: '',
  kind: '',
  level: '',
  errorType: '',
  user: '',
  tags: [],
  assignee: '',
  assigned: '',
  sort: 'lastSeen',
};

const SCALARS = ['status', 'query', 'release', 'environment', 'kind', 'level', 'errorType', 'user', 'assignee', 'sort'] as const;

function oneOf<T extends string>(value: string | null, allowed: ReadonlyArray<{ value: T }>, fallback: T): T {
  return allowed.some((a) => a.value === value) ? (value as T) : fallback;
}

function isTag(text: string): boolean {
  const at = text.indexOf('=');
  return at > 0 && text.slice(0, at).trim() !== '';
}

export function readIssueFilters(params: URLSearchParams): IssueFilters {
  return {
    status: oneOf(params.get('status'), STATUS_TABS, DEFAULT_FILTERS.status),
    query: (params.get('query') ?? '').trim(),
    release: params.get('release') ?? '',
    environment: params.get('environment') ?? '',
    kind: params.get('kind') ?? '',
    level: params.get('level') ?? '',
    errorType: params.get('type') ?? '',
    user: params.get('user') ?? '',
    tags: params.getAll('tag').filter(isTag),
    assignee: params.get('assignee') ?? '',
    assigned: params.get('assigned') === 'true' ? 'yes' : params.get('assigned') === 'false' ? 'no' : '',
    sort: oneOf(params.get('sort'), SORTS, DEFAULT_FILTERS.sort),
  };
}

/** URL parameters for `filters`, leaving defaults out to keep links short. */
export function writeIssueFilters(filters: IssueFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of SCALARS) {
    const value = filters[key];
    if (value && value !== DEFAULT_FILTERS[key]) params.set(key === 'errorType' ? 'type' : key, value);
  }
  for (const tag of filters.tags) params.append('tag', tag);
  if (filters.assigned) params.set('assigned', String(filters.assigned === 'yes'));
  return params;
}

/** The filters that narrow the list, as the API takes them (the status tabs' counts use the same). */
export function toNarrowingQuery(filters: IssueFilters): IssueQuery {
  const query: IssueQuery = {};
  if (filters.query) query.query = filters.query;
  if (filters.release) query.release = filters.release;
  if (filters.environment) query.environment = filters.environment;
  if (filters.kind) query.kind = filters.kind;
  if (filters.level) query.level = filters.level;
  if (filters.errorType) query.type = filters.errorType;
  if (filters.user) query.user = filters.user;
  if (filters.tags.length) query.tag = [...filters.tags];
  if (filters.assignee) query.assignee = filters.assignee;
  if (filters.assigned) query.assigned = filters.assigned === 'yes';
  return query;
}

/** The API query for `filters`: always explicit about status and sort. */
export function toIssueQuery(filters: IssueFilters, limit = 50): IssueQuery {
  return { status: filters.status, sort: filters.sort, limit, ...toNarrowingQuery(filters) };
}

export function hasNarrowingFilters(filters: IssueFilters): boolean {
  return Object.keys(toNarrowingQuery(filters)).length > 0;
}

/** Splits on spaces outside double quotes; quotes are removed. */
function tokens(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      started = true;
    } else if (/\s/.test(ch) && !quoted) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

const STATUS_WORDS: Record<string, IssueStatusFilter> = {
  active: 'active',
  unresolved: 'active',
  open: 'active',
  resolved: 'resolved',
  silenced: 'silenced',
  ignored: 'silenced',
  all: 'all',
};

/**
 * What a search box text asks for. Only what the text names is returned,
 * plus `query` (the free text, possibly empty) and `user` and `tags`
 * (which only the box sets); problems are tokens it could not read.
 */
export function parseIssueSearch(text: string): { patch: Partial<IssueFilters>; problems: string[] } {
  const patch: Partial<IssueFilters> = { user: '', tags: [], kind: '', level: '', errorType: '', assignee: '', assigned: '' };
  const words: string[] = [];
  const problems: string[] = [];
  for (const token of tokens(text)) {
    const colon = token.indexOf(':');
    const key = colon > 0 ? token.slice(0, colon).toLowerCase() : '';
    const value = colon > 0 ? token.slice(colon + 1).trim() : '';
    switch (key) {
      case 'is': {
        const word = value.toLowerCase();
        const status = STATUS_WORDS[word];
        if (status) patch.status = status;
        else if (word === 'assigned' || word === 'unassigned') patch.assigned = word === 'assigned' ? 'yes' : 'no';
        else problems.push(token);
        break;
      }
      case 'assigned':
      case 'assignee':
        patch.assignee = value;
        break;
      case 'release':
        patch.release = value;
        break;
      case 'env':
      case 'environment':
        patch.environment = value;
        break;
      case 'user':
        patch.user = value;
        break;
      case 'level':
        patch.level = value;
        break;
      case 'kind':
        patch.kind = value;
        break;
      case 'type':
        patch.errorType = value;
        break;
      case 'tag':
        if (isTag(value)) patch.tags = [...(patch.tags ?? []), value];
        else problems.push(token);
        break;
      default:
        // A colon that names no filter is text: `Error: x is undefined`.
        words.push(token);
    }
  }
  patch.query = words.join(' ');
  return { patch, problems };
}

function quote(value: string): string {
  return /[\s"]/.test(value) || value === '' ? `"${value.replaceAll('"', '')}"` : value;
}

/** The search box text for `filters`: what only the box sets, then the free text. */
export function formatIssueSearch(filters: IssueFilters): string {
  const parts: string[] = [];
  if (filters.user) parts.push(`user:${quote(filters.user)}`);
  if (filters.errorType) parts.push(`type:${quote(filters.errorType)}`);
  if (filters.assignee) parts.push(`assigned:${quote(filters.assignee)}`);
  if (filters.assigned) parts.push(filters.assigned === 'yes' ? 'is:assigned' : 'is:unassigned');
  for (const tag of filters.tags) parts.push(`tag:${quote(tag)}`);
  if (filters.query) parts.push(filters.query);
  return parts.join(' ');
}
