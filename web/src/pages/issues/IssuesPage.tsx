import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { memo, startTransition, useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type RefObject } from 'react';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, issueCountsQuery, issueListQuery, keys, releasePickerQuery, type Issue, type SettableIssueStatus } from '../../api';
import { KindBadge, LevelMark, StatusBadge } from '../../components/Badges';
import { ConfirmButton } from '../../components/Buttons';
import { Shortcuts } from '../../components/Shortcuts';
import { PageHeader } from '../../components/PageHeader';
import { ReleaseOptions } from '../../components/ReleaseOptions';
import { Sparkline } from '../../components/Sparkline';
import { RelativeTime } from '../../components/Time';
import { EmptyState, InlineError } from '../../components/states';
import { Table } from '../../components/Table';
import { PagedQueryState } from '../../components/LoadMore';
import { formatCount } from '../../lib/format';
import {
  DEFAULT_FILTERS,
  KINDS,
  LEVELS,
  SORTS,
  STATUS_TABS,
  formatIssueSearch,
  hasNarrowingFilters,
  parseIssueSearch,
  readIssueFilters,
  toIssueQuery,
  toNarrowingQuery,
  writeIssueFilters,
  type IssueFilters,
} from '../../lib/issueFilters';
import { moveSelection } from '../../lib/shortcuts';
import { clipText } from '../../lib/title';
import { seg } from '../../lib/url';
import { useDocumentTitle } from '../../components/useDocumentTitle';

function useIssueFilters() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readIssueFilters(params), [params]);
  const update = (patch: Partial<IssueFilters>) => setParams(writeIssueFilters({ ...filters, ...patch }));
  return [filters, update] as const;
}

function FilterBar({ pid, filters, onChange, environments, searchRef, loadReleases }: {
  pid: string;
  filters: IssueFilters;
  onChange: (patch: Partial<IssueFilters>) => void;
  environments: string[];
  searchRef: RefObject<HTMLInputElement | null>;
  /** False until the list's first answer has been painted: the picker's releases wait for it. */
  loadReleases: boolean;
}) {
  const boxText = formatIssueSearch(filters);
  const [text, setText] = useState(boxText);
  const [env, setEnv] = useState(filters.environment);
  const [problems, setProblems] = useState<string[]>([]);
  useEffect(() => setText(boxText), [boxText]);
  useEffect(() => setEnv(filters.environment), [filters.environment]);
  const releases = useQuery({ ...releasePickerQuery(pid), enabled: loadReleases });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { patch, problems } = parseIssueSearch(text);
    setProblems(problems);
    // The box's `env:` wins over the field only when it names one.
    onChange({ environment: env.trim(), ...patch });
  };

  return (
    <form className="filters" onSubmit={submit} role="search" data-testid="issue-filters">
      <input
        type="search"
        className="filters-search"
        placeholder="Search… e.g. is:resolved user:u-42 tag:screen=checkout  ( / )"
        title="Free text searches title, culprit and type. Filters: is:, release:, env:, user:, level:, kind:, type:, tag:key=value, assigned:name, is:unassigned"
        ref={searchRef}
        value={text}
        onChange={(e) => setText(e.target.value)}
        aria-label="Search issues"
        data-testid="issue-search"
      />
      <select
        value={filters.release}
        onChange={(e) => onChange({ release: e.target.value })}
        aria-label="Release"
        data-testid="issue-release-filter"
      >
        <option value="">All releases</option>
        {filters.release && !releases.data?.items.some((r) => r.name === filters.release) && (
          <option value={filters.release}>{filters.release}</option>
        )}
        <ReleaseOptions releases={releases.data?.items} />
      </select>
      <input
        className="filters-env"
        placeholder="Environment"
        list="issue-environments"
        value={env}
        onChange={(e) => setEnv(e.target.value)}
        onBlur={() => env.trim() !== filters.environment && onChange({ environment: env.trim() })}
        aria-label="Environment"
        data-testid="issue-environment-filter"
      />
      <datalist id="issue-environments">
        {environments.map((e) => (
          <option key={e} value={e} />
        ))}
      </datalist>
      <Choice label="Kind" all="All kinds" value={filters.kind} options={KINDS} onChange={(kind) => onChange({ kind })} testId="issue-kind-filter" />
      <Choice label="Level" all="All levels" value={filters.level} options={LEVELS} onChange={(level) => onChange({ level })} testId="issue-level-filter" />
      <label className="filters-sort">
        Sort
        <select value={filters.sort} onChange={(e) => onChange({ sort: e.target.value as IssueFilters['sort'] })} data-testid="issue-sort">
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="btn">
        Search
      </button>
      {problems.length > 0 && (
        <p className="filters-problem" role="alert" data-testid="issue-search-problem">
          Not understood: {problems.map((p) => `“${p}”`).join(', ')}. Use is:active|resolved|silenced|all and tag:key=value.
        </p>
      )}
    </form>
  );
}

/** A select of known values that keeps an unknown one from the URL visible. */
function Choice({ label, all, value, options, onChange, testId }: {
  label: string;
  all: string;
  value: string;
  options: ReadonlyArray<{ value: string; label: string }>;
  onChange: (value: string) => void;
  testId: string;
}) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} aria-label={label} data-testid={testId}>
      <option value="">{all}</option>
      {value && !options.some((o) => o.value === value) && <option value={value}>{value}</option>}
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

// Memoised: the page renders again as its other queries answer (counts,
// releases), and 50 rows rebuilt each time was most of the list's cost.
const IssueRow = memo(function IssueRow({ pid, issue, selected, focused, onToggle }: {
  pid: string;
  issue: Issue;
  selected: boolean;
  /** The keyboard's row (j/k). */
  focused: boolean;
  onToggle: (id: string) => void;
}) {
  const row = useRef<HTMLTableRowElement>(null);
  useEffect(() => {
    if (focused) row.current?.scrollIntoView({ block: 'nearest' });
  }, [focused]);
  const classes = [selected && 'selected', focused && 'focused'].filter(Boolean).join(' ');
  return (
    <tr
      ref={row}
      className={classes || undefined}
      data-testid="issue-row"
      data-issue-id={issue.id}
      data-focused={focused || undefined}
      aria-current={focused || undefined}
    >
      <td className="col-check">
        <input type="checkbox" checked={selected} onChange={() => onToggle(issue.id)} aria-label={`Select ${issue.shortId}`} data-testid="issue-select" />
      </td>
      <td className="col-issue">
        <div className="issue-title-line">
          <LevelMark level={issue.level} />
          <Link to={`/p/${seg(pid)}/issues/${seg(issue.id)}`} className="issue-title" data-testid="issue-title">
            {issue.title}
          </Link>
          {issue.status !== 'active' && <StatusBadge status={issue.status} />}
          <KindBadge kind={issue.kind} />
        </div>
        <div className="issue-meta">
          <span className="mono">{issue.shortId}</span>
          {issue.assignee && (
            <span className="issue-assignee" title={`Assigned to ${issue.assignee}`} data-testid="issue-assignee">
              → {clipText(issue.assignee, 60)}
            </span>
          )}
          {issue.culprit && <span className="issue-culprit">{issue.culprit}</span>}
          <span>
            first <RelativeTime value={issue.firstSeen} />
          </span>
          {issue.lastRelease && (
            <span className="mono" title={issue.lastRelease}>
              {clipText(issue.lastRelease, 300)}
            </span>
          )}
          {issue.lastEnvironment && <span title={issue.lastEnvironment}>{clipText(issue.lastEnvironment, 300)}</span>}
        </div>
      </td>
      <td className="col-trend">
        <Sparkline values={issue.trend24h} />
      </td>
      <td className="col-num" title={String(issue.eventCount)}>
        {formatCount(issue.eventCount)}
      </td>
      <td className="col-num col-users" title={String(issue.userCount)}>
        {formatCount(issue.userCount)}
      </td>
      <td className="col-time">
        <RelativeTime value={issue.lastSeen} />
      </td>
    </tr>
  );
});

/**
 * Rows in the list's first paint: a screenful. A row is at least 52 px tall
 * (a title line and a meta line) and the table starts about 160 px or more
 * below the top of the window (the header, tabs, filters and bulk bar).
 */
function firstScreenful(): number {
  return Math.max(10, Math.ceil((window.innerHeight - 160) / 52));
}

/**
 * False until `ready` has held and the browser has painted a frame since;
 * then true for good. The list's first paint shows a screenful of rows and
 * nothing it can do without: rendering and laying out all 50 rows before it
 * cost about 90 ms of script, style and layout on the 2-core bench box, most
 * of it for rows below the fold, and the tab counts and the release picker
 * asked for beside the rows shared the server's and the browser's time with
 * them (docs/performance.md, admin-bench).
 */
function usePaintedOnce(ready: boolean): boolean {
  const [painted, setPainted] = useState(false);
  useEffect(() => {
    if (painted || !ready) return;
    // A frame callback runs just before the next paint; a task it queues runs after it.
    let timer: number | undefined;
    const frame = requestAnimationFrame(() => {
      // A transition: React builds what follows in short slices, so the page
      // answers clicks and keys meanwhile.
      timer = window.setTimeout(() => startTransition(() => setPainted(true)), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      window.clearTimeout(timer);
    };
  }, [ready, painted]);
  return painted;
}

function EmptyIssues({ filters, onClear, pid }: { filters: IssueFilters; onClear: () => void; pid: string }) {
  if (hasNarrowingFilters(filters)) {
    return (
      <EmptyState title="No issues match these filters." testId="issues-empty">
        {formatIssueSearch(filters) && (
          <p>
            Searched for <code>{formatIssueSearch(filters)}</code>.
          </p>
        )}
        <button type="button" className="btn btn-small" onClick={onClear}>
          Clear filters
        </button>
      </EmptyState>
    );
  }
  const titles: Record<IssueFilters['status'], string> = {
    active: 'No open issues.',
    resolved: 'Nothing is resolved yet.',
    silenced: 'No silenced issues.',
    all: 'No issues yet.',
  };
  return (
    <EmptyState title={titles[filters.status]} testId="issues-empty">
      {filters.status === 'active' || filters.status === 'all' ? (
        <>
          Errors your app reports are grouped here. No SDK sending yet? Create a token in{' '}
          <Link to={`/p/${seg(pid)}/settings`}>Settings</Link> and paste the snippet into your app.
        </>
      ) : filters.status === 'resolved' ? (
        'Resolve an issue once its fix ships; it reopens as regressed if it comes back.'
      ) : (
        'Silence noisy issues to stop notifications; they keep counting.'
      )}
    </EmptyState>
  );
}

export function IssuesPage() {
  useDocumentTitle('Issues');
  const { pid = '' } = useParams();
  const [filters, setFilters] = useIssueFilters();
  const query = useMemo(() => toIssueQuery(filters), [filters]);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [focused, setFocused] = useState(-1);
  const searchRef = useRef<HTMLInputElement>(null);
  // `/` on an issue's page comes here to search.
  const focusSearch = (useLocation().state as { focusSearch?: boolean } | null)?.focusSearch;
  useEffect(() => {
    if (focusSearch) searchRef.current?.focus();
  }, [focusSearch]);

  const list = useInfiniteQuery(issueListQuery(pid, query));
  const issues = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  // What the first screen can do without (the rows below the fold, the tab
  // counts, the release picker) waits until the list's first answer has been
  // painted; from then on everything follows the filters as they change.
  const settled = usePaintedOnce(!list.isPending);
  const [firstRows] = useState(firstScreenful);
  const shown = settled ? issues.length : Math.min(issues.length, firstRows);
  const narrowing = useMemo(() => toNarrowingQuery(filters), [filters]);
  const counts = useQuery({ ...issueCountsQuery(pid, narrowing), enabled: settled });
  const environments = useMemo(
    () => [...new Set(issues.map((i) => i.lastEnvironment).filter((e): e is string => !!e))].sort(),
    [issues],
  );

  // A selection only makes sense for the rows it was made on.
  useEffect(() => {
    setSelected(new Set());
    setFocused(-1);
  }, [pid, query]);

  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.issues(pid) });
  const bulk = useMutation({
    mutationFn: (status: SettableIssueStatus) => api.issues.bulk(pid, { issueIds: [...selected], status }),
    onSuccess: () => {
      setSelected(new Set());
      return refresh();
    },
  });
  // The selected issues go into the one with the most events: the one people have been looking at.
  const selectedIssues = issues.filter((i) => selected.has(i.id));
  const mergeTarget = selectedIssues.reduce<Issue | null>((best, i) => (!best || i.eventCount > best.eventCount ? i : best), null);
  const merge = useMutation({
    mutationFn: (target: Issue) => api.issues.merge(pid, { targetId: target.id, issueIds: [...selected] }),
    onSuccess: () => {
      setSelected(new Set());
      return refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => api.issues.removeMany(pid, [...selected]),
    onSuccess: () => {
      setSelected(new Set());
      return refresh();
    },
  });
  const busy = bulk.isPending || merge.isPending || remove.isPending;
  // The keyboard's resolve and silence: one issue, the focused one.
  const setStatus = useMutation({
    mutationFn: ({ id, status }: { id: string; status: SettableIssueStatus }) => api.issues.update(pid, id, { status }),
    onSuccess: refresh,
  });
  const focusedIndex = Math.min(focused, issues.length - 1);
  const focusedIssue = focusedIndex >= 0 ? issues[focusedIndex] : undefined;
  const shortcuts = [
    { keys: ['j'], label: 'Next issue', run: () => setFocused(moveSelection(focusedIndex, 1, issues.length)) },
    { keys: ['k'], label: 'Previous issue', run: () => setFocused(moveSelection(focusedIndex, -1, issues.length)) },
    { keys: ['Enter', 'o'], label: 'Open the issue', run: () => focusedIssue && navigate(`/p/${seg(pid)}/issues/${seg(focusedIssue.id)}`) },
    { keys: ['x'], label: 'Select the issue (for bulk actions)', run: () => focusedIssue && toggle(focusedIssue.id) },
    { keys: ['r'], label: 'Resolve the issue', run: () => focusedIssue && setStatus.mutate({ id: focusedIssue.id, status: 'resolved' }) },
    { keys: ['s'], label: 'Silence the issue', run: () => focusedIssue && setStatus.mutate({ id: focusedIssue.id, status: 'silenced' }) },
    { keys: ['/'], label: 'Search', run: () => searchRef.current?.focus() },
  ];

  const toggle = useCallback(
    (id: string) =>
      setSelected((prev) => {
        const next = new Set(prev);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );
  const allSelected = issues.length > 0 && issues.every((i) => selected.has(i.id));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(issues.map((i) => i.id)));

  return (
    <div className="page">
      <PageHeader title="Issues" actions={<Shortcuts shortcuts={shortcuts} />} />
      <nav className="tabs" aria-label="Issue status">
        {STATUS_TABS.map((tab) => (
          <button
            key={tab.value}
            type="button"
            className={`tab${filters.status === tab.value ? ' tab-active' : ''}`}
            aria-pressed={filters.status === tab.value}
            onClick={() => setFilters({ status: tab.value })}
            data-testid={`issue-tab-${tab.value}`}
          >
            {tab.label}
            {counts.data && (
              <span className="tab-count" data-testid="issue-tab-count">
                {formatCount(counts.data[tab.value])}
              </span>
            )}
          </button>
        ))}
      </nav>
      <FilterBar pid={pid} filters={filters} onChange={setFilters} environments={environments} searchRef={searchRef} loadReleases={settled} />

      <div className={`bulkbar${selected.size ? ' bulkbar-active' : ''}`} data-testid="bulk-bar">
        <label className="bulkbar-all">
          <input type="checkbox" checked={allSelected} onChange={toggleAll} disabled={issues.length === 0} data-testid="issue-select-all" />
          {selected.size ? `${selected.size} selected` : 'Select all'}
        </label>
        <button type="button" className="btn btn-small" disabled={!selected.size || busy} onClick={() => bulk.mutate('resolved')} data-testid="bulk-resolve">
          Resolve
        </button>
        <button type="button" className="btn btn-small" disabled={!selected.size || busy} onClick={() => bulk.mutate('silenced')} data-testid="bulk-silence">
          Silence
        </button>
        {filters.status !== 'active' && (
          <button type="button" className="btn btn-small" disabled={!selected.size || busy} onClick={() => bulk.mutate('active')} data-testid="bulk-reopen">
            Reopen
          </button>
        )}
        <ConfirmButton
          disabled={selected.size < 2 || busy}
          confirmLabel={mergeTarget ? `Merge ${selected.size} into ${mergeTarget.shortId}?` : 'Merge?'}
          onConfirm={() => mergeTarget && merge.mutate(mergeTarget)}
          testId="bulk-merge"
        >
          Merge
        </ConfirmButton>
        <ConfirmButton
          disabled={!selected.size || busy}
          confirmLabel={`Delete ${selected.size} with their events?`}
          onConfirm={() => remove.mutate()}
          testId="bulk-delete"
        >
          Delete
        </ConfirmButton>
        <InlineError error={bulk.error ?? merge.error ?? remove.error ?? setStatus.error} />
      </div>

      <PagedQueryState
        paged={{ list, items: issues }}
        label="Loading issues…"
        empty={<EmptyIssues filters={filters} pid={pid} onClear={() => setFilters({ ...DEFAULT_FILTERS, status: filters.status, sort: filters.sort })} />}
        end={<span className="muted">{issues.length === 1 ? '1 issue' : `${issues.length} issues`}</span>}
      >
        {() => (
          <Table
            testId="issues-table"
            className="issues-table"
            head={
              <>
                <th className="col-check" aria-label="Selection" />
                <th>Issue</th>
                <th className="col-trend">24 h</th>
                <th className="col-num">Events</th>
                <th className="col-num col-users">Users</th>
                <th className="col-time">Last seen</th>
              </>
            }
          >
            {(shown < issues.length ? issues.slice(0, shown) : issues).map((issue) => (
              <IssueRow
                key={issue.id}
                pid={pid}
                issue={issue}
                selected={selected.has(issue.id)}
                focused={issue.id === focusedIssue?.id}
                onToggle={toggle}
              />
            ))}
          </Table>
        )}
      </PagedQueryState>
    </div>
  );
}
