import { useState } from 'react';
import type { ErrorInfo, Schema } from '../../api';
import { causeChain, contextLines, defaultExpandedFrame, frameLocation, hasContext, rawLocation, sourceMapText } from '../../lib/stack';

function FrameRow({ frame, raw, open, onToggle }: { frame: Schema<'Frame'>; raw: boolean; open: boolean; onToggle: () => void }) {
  const rawText = rawLocation(frame);
  const mapText = sourceMapText(frame);
  const expandable = !raw && hasContext(frame);
  const showRaw = raw && rawText !== null;
  return (
    <li className={`frame${frame.inApp ? ' frame-inapp' : ' frame-lib'}${open && expandable ? ' frame-open' : ''}`} data-testid="stack-frame">
      <button type="button" className="frame-head" onClick={onToggle} disabled={!expandable} aria-expanded={expandable ? open : undefined}>
        {showRaw ? (
          <span className="frame-raw mono" data-testid="frame-raw">
            {rawText}
          </span>
        ) : (
          <>
            <span className="frame-function mono">{frame.function || '<anonymous>'}</span>
            <span className="frame-at">at</span>
            <span className="frame-file mono" data-testid="frame-location" title={mapText ? `Mapped with ${mapText}` : undefined}>
              {frameLocation(frame)}
            </span>
          </>
        )}
        {showRaw && mapText && (
          <span className="muted frame-note" data-testid="frame-sourcemap">
            mapped with {mapText}
          </span>
        )}
        {frame.inApp && <span className="badge badge-inapp">in app</span>}
        {raw && rawText === null && <span className="muted frame-note">not mapped</span>}
      </button>
      {expandable && open && (
        <ol className="frame-context" data-testid="frame-context">
          {contextLines(frame).map((line) => (
            <li key={line.lineNo} className={line.current ? 'context-current' : undefined}>
              <span className="context-lineno">{line.lineNo}</span>
              <code className="context-code">{line.text}</code>
            </li>
          ))}
        </ol>
      )}
    </li>
  );
}

function Frames({ frames, raw, inAppOnly }: { frames: Schema<'Frame'>[]; raw: boolean; inAppOnly: boolean }) {
  const [open, setOpen] = useState<Set<number>>(() => {
    const first = defaultExpandedFrame(frames);
    return new Set(first >= 0 ? [first] : []);
  });
  const hasInApp = frames.some((f) => f.inApp);
  const visible = frames.map((frame, index) => ({ frame, index })).filter(({ frame }) => !inAppOnly || !hasInApp || frame.inApp);
  if (frames.length === 0) return <p className="muted">No stack frames were sent with this error.</p>;
  return (
    <ol className="frames" data-testid="stack-frames">
      {visible.map(({ frame, index }) => (
        <FrameRow
          key={index}
          frame={frame}
          raw={raw}
          open={open.has(index)}
          onToggle={() =>
            setOpen((prev) => {
              const next = new Set(prev);
              if (next.has(index)) next.delete(index);
              else next.add(index);
              return next;
            })
          }
        />
      ))}
    </ol>
  );
}

/** How many nested exception groups are shown (ingest reads a tree at most 40 levels deep). */
const MAX_GROUP_DEPTH = 40;

interface ErrorViewProps {
  raw: boolean;
  inAppOnly: boolean;
  /** How many exception groups hold this error. */
  depth?: number;
}

/**
 * One error of the cause chain: type, message and its frames, top of stack
 * first; for an exception group, its members below, collapsed.
 */
export function ExceptionBlock({ error, index, raw, inAppOnly, depth = 0 }: { error: ErrorInfo; index: number } & ErrorViewProps) {
  const members = error.exceptions ?? [];
  return (
    <div className="exception" data-testid="exception">
      <div className="exception-head">
        {index > 0 && <span className="exception-caused">Caused by</span>}
        <span className="exception-type">{error.type}</span>
        {error.message ? <span className="exception-message">{error.message}</span> : null}
      </div>
      <Frames frames={error.stack ?? []} raw={raw} inAppOnly={inAppOnly} />
      {members.length > 0 && depth < MAX_GROUP_DEPTH && (
        <GroupMembers members={members} raw={raw} inAppOnly={inAppOnly} depth={depth + 1} />
      )}
    </div>
  );
}

/** An exception group's members, each with its stack, causes and members of its own. */
function GroupMembers({ members, raw, inAppOnly, depth }: { members: ErrorInfo[] } & ErrorViewProps) {
  return (
    <details className="exception-group" data-testid="exception-group">
      <summary>
        {members.length === 1 ? '1 exception' : `${members.length} exceptions`} in this group
      </summary>
      <ol className="exception-members">
        {members.map((member, i) => (
          <li key={i} className="exception-member" data-testid="exception-member">
            {causeChain(member).map((error, j) => (
              <ExceptionBlock key={j} error={error} index={j} raw={raw} inAppOnly={inAppOnly} depth={depth} />
            ))}
          </li>
        ))}
      </ol>
    </details>
  );
}
