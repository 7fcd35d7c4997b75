import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, keys, type Issue, type SettableIssueStatus } from '../../api';
import { KindBadge, LevelMark, StatusBadge } from '../../components/Badges';
import { PageHeader } from '../../components/PageHeader';
import { Sparkline } from '../../components/Sparkline';
import { RelativeTime } from '../../components/Time';
import { EmptyState, ErrorState, InlineError, Loading } from '../../components/states';
import { LoadMore } from '../../components/LoadMore';
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
import { clipText } from '../../lib/title';
import { seg } from '../../lib/url';
import { useDocumentTitle } from '../../components/useDocumentTitle';

function useIssueFilters() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readIssueFilters(params), [params]);
  const update = (patch: Partial<IssueFilters>) => setParams(writeIssueFilters({ ...filters, ...patch }));
  return [filters, update] as const;
}

function FilterBar({ pid, filters, onChange, environments }: {
  pid: string;
  filters: IssueFilters;
  onChange: (patch: Partial<IssueFilters>) => void;
  environments: string[];
}) {
  const boxText = formatIssueSearch(filters);
  const [text, setText] = useState(boxText);
  const [env, setEnv] = useState(filters.environment);
  const [problems, setProblems] = useState<string[]>([]);
  useEffect(() => setText(boxText), [boxText]);
  useEffect(() => setEnv(filters.environment), [filters.environment]);
  const releases = useQuery({ queryKey: [...keys.releases(pid), 'first'], queryFn: ({ signal }) => api.releases.list(pid, null, signal) });

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
        placeholder="Search… e.g. is:resolved user:u-42 tag:screen=checkout"
        title="Free text searches title, culprit and type. Filters: is:, release:, env:, user:, level:, kind:, type:, tag:key=value"
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
        {releases.data?.items.map((r) => (
          <option key={r.name} value={r.name}>
            {r.name}
          </option>
        ))}
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

function IssueRow({ pid, issue, selected, onToggle }: { pid: string; issue: Issue; selected: boolean; onToggle: () => void }) {
  return (
    <tr className={selected ? 'selected' : undefined} data-testid="issue-row" data-issue-id={issue.id}>
      <td className="col-check">
        <input type="checkbox" checked={selected} onChange={onToggle} aria-label={`Select ${issue.shortId}`} data-testid="issue-select" />
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
  const [selected, setSelected] = useState<Set<string>>(new Set());

  const list = useInfiniteQuery({
    queryKey: keys.issueList(pid, query),
    queryFn: ({ pageParam, signal }) => api.issues.list(pid, query, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const issues = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const narrowing = useMemo(() => toNarrowingQuery(filters), [filters]);
  const counts = useQuery({
    queryKey: keys.issueCounts(pid, narrowing),
    queryFn: ({ signal }) => api.issues.counts(pid, narrowing, signal),
  });
  const environments = useMemo(
    () => [...new Set(issues.map((i) => i.lastEnvironment).filter((e): e is string => !!e))].sort(),
    [issues],
  );

  // A selection only makes sense for the rows it was made on.
  useEffect(() => setSelected(new Set()), [pid, query]);

  const bulk = useMutation({
    mutationFn: (status: SettableIssueStatus) => api.issues.bulk(pid, { issueIds: [...selected], status }),
    onSuccess: () => {
      setSelected(new Set());
      return queryClient.invalidateQueries({ queryKey: keys.issues(pid) });
    },
  });

  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allSelected = issues.length > 0 && issues.every((i) => selected.has(i.id));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(issues.map((i) => i.id)));

  return (
    <div className="page">
      <PageHeader title="Issues" />
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
      <FilterBar pid={pid} filters={filters} onChange={setFilters} environments={environments} />

      <div className={`bulkbar${selected.size ? ' bulkbar-active' : ''}`} data-testid="bulk-bar">
        <label className="bulkbar-all">
          <input type="checkbox" checked={allSelected} onChange={toggleAll} disabled={issues.length === 0} data-testid="issue-select-all" />
          {selected.size ? `${selected.size} selected` : 'Select all'}
        </label>
        <button type="button" className="btn btn-small" disabled={!selected.size || bulk.isPending} onClick={() => bulk.mutate('resolved')} data-testid="bulk-resolve">
          Resolve
        </button>
        <button type="button" className="btn btn-small" disabled={!selected.size || bulk.isPending} onClick={() => bulk.mutate('silenced')} data-testid="bulk-silence">
          Silence
        </button>
        {filters.status !== 'active' && (
          <button type="button" className="btn btn-small" disabled={!selected.size || bulk.isPending} onClick={() => bulk.mutate('active')} data-testid="bulk-reopen">
            Reopen
          </button>
        )}
        <InlineError error={bulk.error} />
      </div>

      {list.isPending ? (
        <Loading label="Loading issues…" />
      ) : !list.data ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} />
      ) : issues.length === 0 ? (
        <EmptyIssues filters={filters} pid={pid} onClear={() => setFilters({ ...DEFAULT_FILTERS, status: filters.status, sort: filters.sort })} />
      ) : (
        <>
          <table className="table issues-table" data-testid="issues-table">
            <thead>
              <tr>
                <th className="col-check" aria-label="Selection" />
                <th>Issue</th>
                <th className="col-trend">24 h</th>
                <th className="col-num">Events</th>
                <th className="col-num col-users">Users</th>
                <th className="col-time">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {issues.map((issue) => (
                <IssueRow key={issue.id} pid={pid} issue={issue} selected={selected.has(issue.id)} onToggle={() => toggle(issue.id)} />
              ))}
            </tbody>
          </table>
          <LoadMore list={list} end={<span className="muted">{issues.length === 1 ? '1 issue' : `${issues.length} issues`}</span>} />
        </>
      )}
    </div>
  );
}
