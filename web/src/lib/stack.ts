// Helpers for showing stack frames, cause chains and exception groups.
import type { ErrorInfo, Schema } from '../api/types';

/** `file:line:column` for the (symbolicated) position. */
export function frameLocation(frame: Pick<Schema<'Frame'>, 'file' | 'line' | 'column'>): string {
  let text = frame.file || '<unknown>';
  if (frame.line) text += `:${frame.line}`;
  if (frame.line && frame.column) text += `:${frame.column}`;
  return text;
}

/**
 * The bundle position the SDK reported before mapping, as
 * `rawFile:rawLine:rawColumn rawFunction`, or null when the frame was not
 * mapped (there is nothing "raw" to show).
 */
export function rawLocation(frame: Schema<'Frame'>): string | null {
  if (!frame.rawFile && frame.rawLine == null) return null;
  let text = frame.rawFile || frame.file || '<unknown>';
  if (frame.rawLine != null) text += `:${frame.rawLine}`;
  if (frame.rawLine != null && frame.rawColumn != null) text += `:${frame.rawColumn}`;
  if (frame.rawFunction) text += ` ${frame.rawFunction}`;
  return text;
}

/**
 * Which source map resolved a mapped frame: `~/app.js.map (debug ID f107d9d9…)`
 * for a sentry-cli bundle found by debug ID, `app.js.map (release artifact)`
 * otherwise; null when the server did not say.
 */
export function sourceMapText(frame: Schema<'Frame'>): string | null {
  const map = frame.sourceMap;
  if (!map?.name) return null;
  return map.kind === 'debugId' ? `${map.name} (debug ID ${map.debugId})` : `${map.name} (release artifact)`;
}

export function isMapped(frame: Schema<'Frame'>): boolean {
  return rawLocation(frame) !== null;
}

/**
 * Whether a frame shows a minifier's output rather than the author's code:
 * not source-mapped, and a `.min.js` or content-hashed bundle name, a
 * one- or two-letter function name, or a column far into one long line.
 */
export function looksMinified(frame: Schema<'Frame'>): boolean {
  if (isMapped(frame)) return false;
  const file = (frame.file || '').split(/[?#]/)[0] ?? '';
  const name = frame.function ?? '';
  return (
    /\.min\.js$|[.-][0-9a-f]{8,}\.js$/i.test(file) ||
    /^[A-Za-z0-9_$]{1,2}$/.test(name) ||
    (frame.line === 1 && (frame.column ?? 0) > 200)
  );
}

export function hasContext(frame: Schema<'Frame'>): boolean {
  return typeof frame.contextLine === 'string';
}

/**
 * The error and its causes, outermost first. Bounded, because a stored
 * payload is only as deep as ingest trimmed it to (10) and the view must
 * never loop on a malformed self-reference.
 */
export function causeChain(error: ErrorInfo | null | undefined, max = 16): ErrorInfo[] {
  const chain: ErrorInfo[] = [];
  const seen = new Set<ErrorInfo>();
  let current = error ?? null;
  while (current && chain.length < max && !seen.has(current)) {
    seen.add(current);
    chain.push(current);
    current = current.cause ?? null;
  }
  return chain;
}

/**
 * Every error of the tree, the top first: an error, then its cause's tree,
 * then the trees of its group's members in order. Bounded and loop-safe
 * like `causeChain` (ingest keeps at most 100 errors).
 */
export function errorTree(error: ErrorInfo | null | undefined, max = 128): ErrorInfo[] {
  const tree: ErrorInfo[] = [];
  const seen = new Set<ErrorInfo>();
  const pending: ErrorInfo[] = error ? [error] : [];
  while (tree.length < max) {
    const current = pending.pop();
    if (!current) break;
    if (seen.has(current)) continue;
    seen.add(current);
    tree.push(current);
    // Onto the stack last first, so the cause comes next and then the members in order.
    pending.push(...[...(current.exceptions ?? [])].reverse());
    if (current.cause) pending.push(current.cause);
  }
  return tree;
}

export interface ContextLine {
  lineNo: number;
  text: string;
  current: boolean;
}

/** Numbered source lines around the frame, for the expanded frame view. */
export function contextLines(frame: Schema<'Frame'>): ContextLine[] {
  if (!hasContext(frame)) return [];
  const pre = frame.preContext ?? [];
  const post = frame.postContext ?? [];
  const first = frame.line - pre.length;
  return [
    ...pre.map((text, i) => ({ lineNo: first + i, text, current: false })),
    { lineNo: frame.line, text: frame.contextLine ?? '', current: true },
    ...post.map((text, i) => ({ lineNo: frame.line + 1 + i, text, current: false })),
  ];
}

/**
 * Which frame to open by default: the top in-app frame with source, else
 * the top frame with source. Index into `frames`, or -1.
 */
export function defaultExpandedFrame(frames: readonly Schema<'Frame'>[]): number {
  const inApp = frames.findIndex((f) => f.inApp && hasContext(f));
  if (inApp >= 0) return inApp;
  return frames.findIndex(hasContext);
}
