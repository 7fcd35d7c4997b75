// The admin API's shapes under the names the SPA uses. Every response and
// request body is the generated type of the API's OpenAPI document
// (`openapi.json`, written by admin-api's `openapi_document` test; `schema.d.ts`
// is generated from it by `npm run gen:api`, and `npm run check:api` fails
// when the two differ). Only the literal values the SPA itself sends or
// switches on are spelled out here: the document types them as strings.
import type { components, operations } from './schema';

type Schemas = components['schemas'];
/** The query parameters of an operation, all optional. */
type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

export type Uuid = string;
/** RFC 3339 timestamp. */
export type Timestamp = string;

// ---- auth -----------------------------------------------------------------

export type LoginResponse = Schemas['LoginAnswer'];
export type Me = Schemas['MeAnswer'];
export type ErrorBody = Schemas['ErrorBody'];
export type Ok = Schemas['OkBody'];

// ---- projects and tokens --------------------------------------------------

export type Project = Schemas['ProjectRow'];
export type TokenKind = 'public' | 'admin';
export type Token = Schemas['TokenRow'];
/** The only answer that carries a token's full text; it is never shown again. */
export type CreatedToken = Schemas['CreatedToken'];
export type CreatedProject = Schemas['CreatedProject'];

// ---- issues ---------------------------------------------------------------

export type IssueStatus = Schemas['IssueStatus'];
/** What an admin may set; `regressed` is the processor's alone. */
export type SettableIssueStatus = Exclude<IssueStatus, 'regressed'>;
export type IssueStatusFilter = 'active' | 'resolved' | 'silenced' | 'all';
export type IssueSort = 'lastSeen' | 'firstSeen' | 'events' | 'users';
export type EventKind = Schemas['EventKind'];
export type Level = Schemas['Level'];

export type Issue = Schemas['IssueRow'];
export type HistogramPeriod = Schemas['HistogramPeriod'];
/** An issue's events over a period, by when they happened (UTC hours or days). */
export type IssueHistogram = Schemas['Histogram'];
export type TagValue = Schemas['TagValue'];
export type IssueTags = Schemas['IssueDetail']['tags'];
export type IssueDetail = Schemas['IssueDetail'];

export type IssueQuery = Omit<QueryOf<'list_issues'>, 'cursor' | 'status' | 'sort'> & {
  status?: IssueStatusFilter;
  sort?: IssueSort;
};
export type IssueCounts = Schemas['IssueCounts'];
export type IssuePatch = Schemas['IssueChange'] & { status?: SettableIssueStatus };
export type BulkIssueUpdate = Schemas['BulkChange'] & { status?: SettableIssueStatus };
export type IssueMerge = Schemas['MergeRequest'];
export type DeletedIssues = Schemas['Deleted'];
/** What happened to an issue and who did it (the processor, the dashboard or a named token). */
export type ActivityEntry = Schemas['ActivityEntry'];
export type ActivityKind = Schemas['ActivityKind'];

// ---- events ---------------------------------------------------------------

/** `debugId`: found through the event's debug_meta (sentry-cli bundles); `release`: the release's artifact of that name. */
export type FrameSourceMap = Schemas['FrameSourceMap'];
export type Frame = Schemas['Frame'];
// Intersections, not `Omit`: these types have index signatures, which `Omit` would keep alone.
export type ErrorInfo = Schemas['Error'] & {
  stack?: Frame[];
  cause?: ErrorInfo | null;
  exceptions?: ErrorInfo[];
};
export type Breadcrumb = Schemas['Breadcrumb'];
export type AttachmentRef = Schemas['AttachmentRef'];
export type Device = Schemas['Device'];
export type App = Schemas['App'];
export type User = Schemas['User'];

/** `_meta`: the paths the server changed and what each was before. */
export type TrimMeta = Schemas['Meta'];

/** The stored event as the processor wrote it, plus navigation. */
export type SentoriEvent = Schemas['EventDetail'] & {
  error?: ErrorInfo | null;
};

export type EventSummary = Schemas['EventSummary'];
export type Attachment = Schemas['AttachmentRow'];

// ---- traces ---------------------------------------------------------------

export type SpanStatus = Schemas['SpanStatus'];
export type TraceSummary = Schemas['TraceSummary'];
export type Span = Schemas['Span'];
export type TraceEvent = Schemas['TraceEvent'];
/** One page of a trace: `spans` is a page (by start time); `spanCount` is the trace's whole count. */
export type TraceDetail = Schemas['TraceDetail'];
export type TraceQuery = Omit<QueryOf<'list_traces'>, 'cursor' | 'limit'>;
/** Traces grouped by root span name over a period, the most traces first. */
export type TransactionSummary = Schemas['TransactionSummary'];
export type Transaction = Schemas['Transaction'];

// ---- releases and artifacts ----------------------------------------------

/** `firstSeen`: newest first; `version`: highest version first (semver-aware, build number last). */
export type ReleaseSort = 'firstSeen' | 'version';
export type Release = Schemas['ReleaseRow'];
export type ReleaseSeries = Schemas['ReleaseSeries'];
export type ReleaseBucket = Schemas['ReleaseBucket'];
export type ReleaseIssue = Schemas['ReleaseIssue'];
export type ReleaseIssueKind = 'new' | 'regressed';
export type ArtifactKind = 'sourcemap' | 'minified' | 'other' | (string & {});
export type Artifact = Schemas['ArtifactRow'];
/** A file of an artifact bundle uploaded by sentry-cli. */
export type BundleFile = Schemas['BundleFileRow'];
/** An artifact bundle uploaded by sentry-cli (`sourcemaps upload`). */
export type ArtifactBundle = Schemas['BundleRow'];

// ---- recipients -----------------------------------------------------------

export type Recipient = Schemas['RecipientRow'];
export type RecipientInput = Schemas['NewRecipient'];

// ---- status ---------------------------------------------------------------

export type StreamStats = Schemas['StreamStats'];
export type RetentionRun = Schemas['RetentionRun'];
export type SystemStatus = Schemas['Status'];
