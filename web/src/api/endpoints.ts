// Typed functions for every admin-api route the dashboard uses. Paths follow
// shared/spec/admin-api.md; every id or name that goes into a path is
// percent-encoded as one segment.
import { seg } from '../lib/url';
import { apiUrl, request, requestPage, requestPaged, send, type Page, type Paged } from './client';
import type {
  Artifact,
  ArtifactBundle,
  Attachment,
  BulkIssueUpdate,
  DeletedIssues,
  Issue,
  IssueHistogram,
  IssueMerge,
  IssuePatch,
  IssueQuery,
  LoginResponse,
  Me,
  Ok,
  Project,
  Recipient,
  RecipientInput,
  Release,
  ReleaseIssueKind,
  ReleaseSort,
  Schema,
  SentoriEvent,
  SystemStatus,
  Token,
  TokenKind,
  TraceQuery,
} from './types';

const project = (pid: string) => `/projects/${seg(pid)}`;

export const auth = {
  login: (password: string) => request<LoginResponse>('POST', '/login', { body: { password }, quietUnauthorized: true }),
  logout: () => request<Ok>('POST', '/logout', { quietUnauthorized: true }),
  me: (signal?: AbortSignal) => request<Me>('GET', '/me', { signal, quietUnauthorized: true }),
};

export const projects = {
  list: (signal?: AbortSignal) => request<Project[]>('GET', '/projects', { signal }),
  create: (input: { name: string; platform?: string }) => request<Schema<'CreatedProject'>>('POST', '/projects', { body: input }),
};

export const tokens = {
  list: (pid: string, signal?: AbortSignal) => request<Token[]>('GET', `${project(pid)}/tokens`, { signal }),
  /** The only answer that carries a token's full text; it is never shown again. */
  create: (pid: string, input: { label?: string; kind?: TokenKind }) =>
    request<Schema<'CreatedToken'>>('POST', `${project(pid)}/tokens`, { body: input }),
  revoke: (pid: string, tid: string) => request<Ok>('DELETE', `${project(pid)}/tokens/${seg(tid)}`),
};

export const issues = {
  list: (pid: string, query: IssueQuery, cursor?: string | null, signal?: AbortSignal): Promise<Page<Issue>> =>
    requestPage<Issue>(`${project(pid)}/issues`, { ...query }, cursor, signal),
  counts: (pid: string, query: IssueQuery, signal?: AbortSignal) =>
    request<Schema<'IssueCounts'>>('GET', `${project(pid)}/issues:counts`, { query: { ...query }, signal }),
  get: (pid: string, iid: string, signal?: AbortSignal) =>
    request<Schema<'IssueDetail'>>('GET', `${project(pid)}/issues/${seg(iid)}`, { signal }),
  update: (pid: string, iid: string, patch: IssuePatch) =>
    request<Issue>('PATCH', `${project(pid)}/issues/${seg(iid)}`, { body: patch }),
  bulk: (pid: string, update: BulkIssueUpdate) => request<Issue[]>('POST', `${project(pid)}/issues:bulk`, { body: update }),
  /** Merges `issueIds` into `targetId`; answers the target. */
  merge: (pid: string, merge: IssueMerge) => request<Issue>('POST', `${project(pid)}/issues:merge`, { body: merge }),
  remove: (pid: string, iid: string) => request<Ok>('DELETE', `${project(pid)}/issues/${seg(iid)}`),
  removeMany: (pid: string, issueIds: string[]) =>
    request<DeletedIssues>('POST', `${project(pid)}/issues:delete`, { body: { issueIds } }),
  /** What happened to the issue and who did it (the processor, the dashboard or a named token). */
  activity: (pid: string, iid: string, cursor?: string | null, signal?: AbortSignal) =>
    requestPage<Schema<'ActivityEntry'>>(`${project(pid)}/issues/${seg(iid)}/activity`, {}, cursor, signal),
  histogram: (pid: string, iid: string, period: Schema<'HistogramPeriod'>, signal?: AbortSignal) =>
    request<IssueHistogram>('GET', `${project(pid)}/issues/${seg(iid)}/histogram`, { query: { period }, signal }),
  events: (pid: string, iid: string, cursor?: string | null, signal?: AbortSignal) =>
    requestPage<Schema<'EventSummary'>>(`${project(pid)}/issues/${seg(iid)}/events`, { limit: 25 }, cursor, signal),
  /** The newest event, without knowing its id first (404 when none is stored). */
  latestEvent: (pid: string, iid: string, signal?: AbortSignal) =>
    request<SentoriEvent>('GET', `${project(pid)}/issues/${seg(iid)}/events/latest`, { signal }),
};

export const events = {
  get: (pid: string, eid: string, signal?: AbortSignal) =>
    request<SentoriEvent>('GET', `${project(pid)}/events/${seg(eid)}`, { signal }),
  attachments: (pid: string, eid: string, signal?: AbortSignal) =>
    request<Attachment[]>('GET', `${project(pid)}/events/${seg(eid)}/attachments`, { signal }),
  attachmentUrl: (pid: string, eid: string, ref: string) =>
    apiUrl(`${project(pid)}/events/${seg(eid)}/attachments/${seg(ref)}`),
  /** A text attachment (JSON, log tail) for an inline preview, cut at `maxChars`. */
  attachmentText: async (pid: string, eid: string, ref: string, maxChars = 200_000, signal?: AbortSignal) => {
    const response = await send('GET', `${project(pid)}/events/${seg(eid)}/attachments/${seg(ref)}`, { signal });
    const text = await response.text();
    return text.length > maxChars ? { text: text.slice(0, maxChars), truncated: true } : { text, truncated: false };
  },
};

export const traces = {
  list: (pid: string, query: TraceQuery, cursor?: string | null, signal?: AbortSignal) =>
    requestPage<Schema<'TraceSummary'>>(`${project(pid)}/traces`, { ...query }, cursor, signal),
  /**
   * One page of a trace's spans (at most 1 000, by start time), with the trace, its error events and
   * `spanCount`, the whole trace's count.
   */
  get: (pid: string, traceId: string, cursor?: string | null, signal?: AbortSignal): Promise<Paged<Schema<'TraceDetail'>>> =>
    requestPaged<Schema<'TraceDetail'>>(`${project(pid)}/traces/${seg(traceId)}`, {}, cursor, signal),
  /** Traces that started in `period`, grouped by root span name (the most traces first), with duration percentiles and error rate. */
  transactions: (pid: string, period: Schema<'HistogramPeriod'>, signal?: AbortSignal) =>
    request<Schema<'TransactionSummary'>>('GET', `${project(pid)}/transactions`, { query: { period }, signal }),
};

export const releases = {
  list: (pid: string, cursor?: string | null, signal?: AbortSignal, sort: ReleaseSort = 'firstSeen') =>
    requestPage<Release>(`${project(pid)}/releases`, sort === 'firstSeen' ? {} : { sort }, cursor, signal),
  get: (pid: string, release: string, signal?: AbortSignal) =>
    request<Release>('GET', `${project(pid)}/releases/${seg(release)}`, { signal }),
  /** The release's events, sessions, crashes and users per hour or day, beside the project's. */
  series: (pid: string, release: string, period: Schema<'HistogramPeriod'>, signal?: AbortSignal) =>
    request<Schema<'ReleaseSeries'>>('GET', `${project(pid)}/releases/${seg(release)}/series`, { query: { period }, signal }),
  /** The issues the release brought (`new`) or brought back (`regressed`), the most frequent first. */
  issues: (pid: string, release: string, which: ReleaseIssueKind, signal?: AbortSignal) =>
    request<Schema<'ReleaseIssue'>[]>('GET', `${project(pid)}/releases/${seg(release)}/issues`, { query: { which }, signal }),
  artifacts: (pid: string, release: string, signal?: AbortSignal) =>
    request<Artifact[]>('GET', `${project(pid)}/releases/${seg(release)}/artifacts`, { signal }),
  deleteArtifact: (pid: string, release: string, aid: string) =>
    request<Ok>('DELETE', `${project(pid)}/releases/${seg(release)}/artifacts/${seg(aid)}`),
  /** sentry-cli bundles uploaded with this release, newest first. */
  bundles: (pid: string, release: string, signal?: AbortSignal) =>
    request<ArtifactBundle[]>('GET', `${project(pid)}/artifact-bundles`, { query: { release }, signal }),
};

export const recipients = {
  list: (pid: string, signal?: AbortSignal) => request<Recipient[]>('GET', `${project(pid)}/recipients`, { signal }),
  add: (pid: string, input: RecipientInput) => request<Recipient>('POST', `${project(pid)}/recipients`, { body: input }),
  update: (pid: string, rid: string, patch: Partial<Pick<Recipient, 'onNewIssue' | 'onRegression'>>) =>
    request<Recipient>('PATCH', `${project(pid)}/recipients/${seg(rid)}`, { body: patch }),
  remove: (pid: string, rid: string) => request<Ok>('DELETE', `${project(pid)}/recipients/${seg(rid)}`),
};

export const system = {
  status: (signal?: AbortSignal) => request<SystemStatus>('GET', '/status', { signal }),
};
