// Response and request shapes of the admin API (shared/spec/admin-api.md),
// plus the stored Event and Span (protocol.md). Where the spec leaves a shape
// open, the choice is recorded in web/API-ASSUMPTIONS.md; keep the two in step.

export type Uuid = string;
/** RFC 3339 timestamp. */
export type Timestamp = string;

// ---- auth -----------------------------------------------------------------

export interface LoginResponse {
  csrfToken: string;
  expiresAt: Timestamp;
}

export interface Me {
  kind: 'operator' | 'admin' | 'dev' | (string & {});
  csrfToken: string;
}

export interface ErrorBody {
  error: string;
  message: string;
  details?: Array<{ field: string; message: string }>;
  hint?: string;
}

export interface Ok {
  ok: true;
}

// ---- projects and tokens --------------------------------------------------

export interface Project {
  id: Uuid;
  /** The last path segment of the project's Sentry DSNs. */
  number: number;
  name: string;
  platform: string | null;
  createdAt: Timestamp;
  eventCount24h: number;
}

export type TokenKind = 'public' | 'admin';

export interface Token {
  id: Uuid;
  kind: TokenKind;
  label: string | null;
  last4: string;
  /** `operator` (dashboard login or dev token), or the id of the admin token that created this one. */
  createdBy: string;
  createdAt: Timestamp;
  revokedAt: Timestamp | null;
  /** Public tokens: the Sentry DSN with the token masked (only its hash is stored). */
  dsn?: string;
}

/** The only answer that carries a token's full text; it is never shown again. */
export interface CreatedToken {
  id: Uuid;
  kind: TokenKind;
  label: string | null;
  token: string;
  createdBy: string;
  createdAt: Timestamp;
  /** Public tokens: the Sentry DSN any official Sentry SDK reports to, unchanged. */
  dsn?: string;
}

export interface CreatedProject extends Project {
  token: CreatedToken;
}

// ---- issues ---------------------------------------------------------------

export type IssueStatus = 'active' | 'regressed' | 'resolved' | 'silenced';
/** What an admin may set; `regressed` is the processor's alone. */
export type SettableIssueStatus = 'active' | 'resolved' | 'silenced';
export type IssueStatusFilter = 'active' | 'resolved' | 'silenced' | 'all';
export type IssueSort = 'lastSeen' | 'firstSeen' | 'events' | 'users';
export type EventKind = 'error' | 'anr' | 'nearCrash' | 'message' | (string & {});
export type Level = 'fatal' | 'error' | 'warning' | 'info' | 'debug' | (string & {});

export interface Issue {
  id: Uuid;
  shortId: string;
  title: string;
  culprit: string | null;
  type: string | null;
  kind: EventKind;
  level: Level | null;
  status: IssueStatus;
  eventCount: number;
  userCount: number;
  firstSeen: Timestamp;
  lastSeen: Timestamp;
  firstRelease: string | null;
  lastRelease: string | null;
  lastEnvironment: string | null;
  resolvedInRelease: string | null;
  regressedAt: Timestamp | null;
  /** 24 hourly counts of events by when they happened, oldest first; the last is the current hour. */
  trend24h: number[];
}

export type HistogramPeriod = '24h' | '14d' | '90d';

/** An issue's events over a period, by when they happened (UTC hours or days). */
export interface IssueHistogram {
  period: HistogramPeriod;
  bucket: 'hour' | 'day';
  /** Oldest first; the last is the current (partial) hour or day. */
  buckets: { start: Timestamp; count: number }[];
}

export interface TagValue {
  value: string;
  count: number;
}

/** Top values per dimension; known keys below, unknown keys shown as they come. */
export type IssueTags = Partial<Record<'release' | 'environment' | 'os' | 'deviceModel' | 'runtime', TagValue[]>> &
  Record<string, TagValue[] | undefined>;

export interface IssueDetail extends Issue {
  /** Grouping components, in order (processing.md "Grouping"). */
  fingerprint: string[];
  /** The 32-hex hash of the components. */
  fingerprintHash: string;
  tags: IssueTags;
  /** The SDK's own tags, broken down the same way; the most common keys first. */
  customTags?: Record<string, TagValue[]>;
  latestEventId: Uuid | null;
  oldestEventId: Uuid | null;
}

export interface IssueQuery {
  status?: IssueStatusFilter;
  query?: string;
  release?: string;
  environment?: string;
  kind?: string;
  level?: string;
  /** The error type, exactly. */
  type?: string;
  /** The SDK's user id, or the device's install id. */
  user?: string;
  /** `key=value` each. */
  tag?: string[];
  sort?: IssueSort;
  limit?: number;
}

/** How many issues each status tab holds under the other filters. */
export interface IssueCounts {
  active: number;
  regressed: number;
  resolved: number;
  silenced: number;
  all: number;
}

export interface IssuePatch {
  status: SettableIssueStatus;
  resolvedInRelease?: string | null;
}

export interface BulkIssueUpdate {
  issueIds: Uuid[];
  status: SettableIssueStatus;
}

// ---- events ---------------------------------------------------------------

export interface Frame {
  file: string;
  line: number;
  column?: number | null;
  function?: string | null;
  inApp?: boolean;
  absolutePath?: string | null;
  preContext?: string[] | null;
  contextLine?: string | null;
  postContext?: string[] | null;
  rawFile?: string | null;
  rawLine?: number | null;
  rawColumn?: number | null;
  rawFunction?: string | null;
  /** Server-set on a mapped frame: the source map that resolved it. */
  sourceMap?: FrameSourceMap | null;
  debugId?: string | null;
  arch?: string | null;
  instructionAddress?: number | string | null;
  imageAddress?: number | string | null;
}

/** `debugId`: found through the event's debug_meta (sentry-cli bundles); `release`: the release's artifact of that name. */
export interface FrameSourceMap {
  kind: 'debugId' | 'release' | (string & {});
  /** The artifact name, or the map's URL in its bundle (`~/app.js.map`). */
  name: string;
  debugId?: string | null;
}

export interface ErrorInfo {
  type: string;
  message?: string | null;
  stack?: Frame[] | null;
  cause?: ErrorInfo | null;
  /** The errors an exception group holds, in the group's order (protocol.md, "Event"). */
  exceptions?: ErrorInfo[] | null;
}

export interface Breadcrumb {
  timestamp: Timestamp;
  type: 'nav' | 'net' | 'log' | 'user' | 'custom' | (string & {});
  data?: unknown;
}

export interface AttachmentRef {
  ref: string;
  kind: string;
  mediaType?: string | null;
  sizeBytes?: number | null;
  source?: string | null;
}

export interface Device {
  os: string;
  osVersion: string;
  model?: string | null;
  locale?: string | null;
  networkType?: string | null;
  installId?: string | null;
  [key: string]: unknown;
}

export interface App {
  version: string;
  build?: string | null;
  framework?: { name: string; version: string } | null;
  [key: string]: unknown;
}

export interface User {
  id?: string | null;
  anonymous?: boolean | null;
  name?: string | null;
  linkHashes?: unknown;
  [key: string]: unknown;
}

/** `_meta`: trimmed paths and what they were before trimming. */
export type TrimMeta = Record<string, unknown>;

/** The stored event as the processor wrote it, plus navigation. */
export interface SentoriEvent {
  id: Uuid;
  issueId: Uuid;
  receivedAt: Timestamp;
  previousEventId: Uuid | null;
  nextEventId: Uuid | null;
  timestamp: Timestamp;
  kind: EventKind;
  platform: string;
  release: string;
  environment: string;
  device: Device;
  app: App;
  user?: User | null;
  level?: Level | null;
  message?: string | null;
  error?: ErrorInfo | null;
  tags?: Record<string, string> | null;
  flags?: Record<string, string> | null;
  breadcrumbs?: Breadcrumb[] | null;
  fingerprint?: string[] | null;
  traceId?: string | null;
  spanId?: string | null;
  attachments?: AttachmentRef[] | null;
  symbolication?: { releaseHasMap: boolean } | null;
  sdk?: string | null;
  _meta?: TrimMeta | null;
  [key: string]: unknown;
}

export interface EventSummary {
  id: Uuid;
  timestamp: Timestamp;
  receivedAt: Timestamp;
  release: string;
  environment: string;
  title: string;
  userId: string | null;
  os: string | null;
  osVersion: string | null;
  deviceModel: string | null;
  traceId: string | null;
}

export interface Attachment {
  ref: string;
  kind: string;
  mediaType: string;
  sizeBytes: number;
  source: string | null;
  capturedAt: Timestamp | null;
  createdAt: Timestamp;
}

// ---- traces ---------------------------------------------------------------

export type SpanStatus = 'ok' | 'error' | 'cancelled' | (string & {});

export interface TraceSummary {
  traceId: string;
  rootOp: string | null;
  rootName: string | null;
  startedAt: Timestamp;
  endedAt: Timestamp;
  durationMs: number;
  spanCount: number;
  errorCount: number;
  status: SpanStatus;
  /** The `service.name` tags of its spans (OTLP spans carry one), sorted. */
  services?: string[];
}

export interface Span {
  id: string;
  traceId: string;
  parentSpanId: string | null;
  op: string;
  name: string;
  startedAt: Timestamp;
  durationMs: number;
  status: SpanStatus;
  tags?: Record<string, string> | null;
  data?: Record<string, unknown> | null;
  traceparent?: string | null;
}

export interface TraceEvent {
  id: Uuid;
  issueId: Uuid;
  spanId: string | null;
  title: string;
  timestamp?: Timestamp;
}

/** One page of a trace: `spans` is a page (by start time); `spanCount` is the trace's whole count. */
export interface TraceDetail {
  trace: TraceSummary;
  spanCount: number;
  spans: Span[];
  events: TraceEvent[];
}

export interface TraceQuery {
  op?: string;
  status?: string;
  minDurationMs?: number;
  /** Traces with a span of this `service.name`, exactly. */
  service?: string;
}

// ---- releases and artifacts ----------------------------------------------

/** `firstSeen`: newest first; `version`: highest version first (semver-aware, build number last). */
export type ReleaseSort = 'firstSeen' | 'version';

export interface Release {
  name: string;
  firstSeen: Timestamp;
  deployAt: Timestamp | null;
  eventCount: number;
  newIssueCount: number;
  sessionCount: number;
  /** 0–1, null without sessions. */
  crashFreeSessions: number | null;
  crashFreeUsers: number | null;
  artifactCount: number;
}

export type ArtifactKind = 'sourcemap' | 'minified' | 'other' | (string & {});

export interface Artifact {
  id: Uuid;
  name: string;
  kind: ArtifactKind;
  sizeBytes: number;
  contentHash: string;
  /** For a source map: the `file` it describes. */
  file: string | null;
  debugId: string | null;
  createdAt: Timestamp;
}

/** A file of an artifact bundle uploaded by sentry-cli. */
export interface BundleFile {
  name: string;
  /** As the bundle names it (`~/app.js`). */
  url: string;
  /** `minified_source`, `source_map`, `source`, … */
  kind: string;
  debugId: string | null;
  sizeBytes: number;
  contentHash: string;
}

/** An artifact bundle uploaded by sentry-cli (`sourcemaps upload`). */
export interface ArtifactBundle {
  id: Uuid;
  checksum: string;
  /** sentry-cli's "Bundle ID". */
  bundleId: string | null;
  release: string | null;
  dist: string | null;
  fileCount: number;
  createdAt: Timestamp;
  files: BundleFile[];
}

// ---- recipients -----------------------------------------------------------

export interface Recipient {
  id: Uuid;
  email: string;
  onNewIssue: boolean;
  onRegression: boolean;
  createdAt: Timestamp;
}

export interface RecipientInput {
  email: string;
  onNewIssue?: boolean;
  onRegression?: boolean;
}

// ---- status ---------------------------------------------------------------

export interface StreamStatus {
  name: string;
  length: number;
  pending: number;
  deadLetters: number;
  /** Age of the oldest unacknowledged entry; null when nothing is pending. */
  oldestPendingAgeMs: number | null;
}

export interface RetentionRun {
  startedAt: Timestamp;
  finishedAt: Timestamp | null;
  ok: boolean;
  error: string | null;
  droppedPartitions: string[];
  createdPartitions: string[];
  deletedTraces: number;
  deletedAttachments: number;
}

export interface SystemStatus {
  streams: StreamStatus[];
  lastRetentionRun: RetentionRun | null;
  postgresMs: number | null;
  valkeyMs: number | null;
}
