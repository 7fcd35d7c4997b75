// The admin API's shapes. Every response and request body is the generated
// type of the API's OpenAPI document (`openapi.json`, written by admin-api's
// `openapi_document` test; `schema.d.ts` is generated from it by
// `npm run gen:api`, which dev, build and typecheck run first).
// Code names a type as the document does, `Schema<'Span'>`, rather than
// through an alias that would only repeat that name; a name of the SPA's own
// is kept here only where it says more than the document's (`Issue` for
// `IssueRow`) or the SPA narrows the type.
// Only the literal values the SPA itself sends or switches on are spelled out
// here: the document types them as strings.
import type { components, operations } from './schema';

type Schemas = components['schemas'];
/** A type of the API's OpenAPI document, by its name there. */
export type Schema<Name extends keyof Schemas> = Schemas[Name];
/** The query parameters of an operation, all optional. */
type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

export type Uuid = string;
/** RFC 3339 timestamp. */
export type Timestamp = string;

// ---- auth -----------------------------------------------------------------

export type LoginResponse = Schemas['LoginAnswer'];
export type Me = Schemas['MeAnswer'];
export type Ok = Schemas['OkBody'];

// ---- projects and tokens --------------------------------------------------

export type Project = Schemas['ProjectRow'];
export type TokenKind = 'public' | 'admin';
export type Token = Schemas['TokenRow'];

// ---- issues ---------------------------------------------------------------

/** What an admin may set; `regressed` is the processor's alone. */
export type SettableIssueStatus = Exclude<Schema<'IssueStatus'>, 'regressed'>;
export type IssueStatusFilter = 'active' | 'resolved' | 'silenced' | 'all';
export type IssueSort = 'lastSeen' | 'firstSeen' | 'events' | 'users';

export type Issue = Schemas['IssueRow'];
/** An issue's events over a period, by when they happened (UTC hours or days). */
export type IssueHistogram = Schemas['Histogram'];
export type IssueTags = Schemas['IssueDetail']['tags'];

export type IssueQuery = Omit<QueryOf<'list_issues'>, 'cursor' | 'status' | 'sort'> & {
  status?: IssueStatusFilter;
  sort?: IssueSort;
};
export type IssuePatch = Schemas['IssueChange'] & { status?: SettableIssueStatus };
export type BulkIssueUpdate = Schemas['BulkChange'] & { status?: SettableIssueStatus };
export type IssueMerge = Schemas['MergeRequest'];
export type DeletedIssues = Schemas['Deleted'];

// ---- events ---------------------------------------------------------------

// Intersections, not `Omit`: these types have index signatures, which `Omit` would keep alone.
export type ErrorInfo = Schemas['Error'] & {
  stack?: Schema<'Frame'>[];
  cause?: ErrorInfo | null;
  exceptions?: ErrorInfo[];
};

/** `_meta`: the paths the server changed and what each was before. */
export type TrimMeta = Schemas['Meta'];

/** The stored event as the processor wrote it, plus navigation. */
export type SentoriEvent = Schemas['EventDetail'] & {
  error?: ErrorInfo | null;
};

export type Attachment = Schemas['AttachmentRow'];

// ---- traces ---------------------------------------------------------------

export type TraceQuery = Omit<QueryOf<'list_traces'>, 'cursor' | 'limit'>;

// ---- releases and artifacts ----------------------------------------------

/** `firstSeen`: newest first; `version`: highest version first (semver-aware, build number last). */
export type ReleaseSort = 'firstSeen' | 'version';
export type Release = Schemas['ReleaseRow'];
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

export type SystemStatus = Schemas['Status'];
