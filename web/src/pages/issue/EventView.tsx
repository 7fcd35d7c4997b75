import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import type { SentoriEvent, TrimMeta } from '../../api';
import { KeyValues } from '../../components/PageHeader';
import { Truncated } from '../../components/Truncated';
import { DateTime } from '../../components/Time';
import { plainValue } from '../../lib/format';
import { causeChain, errorTree, isMapped, looksMinified } from '../../lib/stack';
import { seg } from '../../lib/url';
import { Attachments } from './Attachments';
import { Breadcrumbs } from './Breadcrumbs';
import { ExceptionBlock } from './StackTrace';

/** An id-like value on one line with a copy button, or nothing (so the row shows a dash) when empty. */
function mono(value: unknown) {
  const text = plainValue(value);
  return text ? <Truncated value={text} mono copy /> : null;
}

/** A free-text value on one line, whole on hover; nothing when empty. */
function line(value: unknown) {
  const text = plainValue(value);
  return text ? <Truncated value={text} /> : null;
}

function Section({ title, children, testId, aside }: { title: string; children: ReactNode; testId?: string; aside?: ReactNode }) {
  return (
    <section className="event-section" data-testid={testId}>
      <div className="event-section-head">
        <h3>{title}</h3>
        {aside}
      </div>
      {children}
    </section>
  );
}

function SymbolicationNote({ event }: { event: SentoriEvent }) {
  if (event.platform !== 'javascript' || !event.error) return null;
  const frames = errorTree(event.error).flatMap((e) => e.stack ?? []);
  if (frames.length === 0) return null;
  if (event.symbolication?.releaseHasMap === false && frames.some(looksMinified)) {
    const upload = `curl -H "Authorization: Bearer <admin token>" -F "file=@dist/main.js.map" \\
  ${window.location.origin}/admin/api/releases/${encodeURIComponent(event.release)}/sourcemaps`;
    return (
      <div className="note" data-testid="symbolication-note">
        This stack is minified and release <code>{event.release}</code> has no source maps. Upload the bundle's maps (one file
        part each, named as the bundle serves them) with an admin token to see original files, lines and names:
        <pre className="note-command">{upload}</pre>
      </div>
    );
  }
  if (event.symbolication?.releaseHasMap && !frames.some(isMapped)) {
    return (
      <div className="note" data-testid="symbolication-note">
        Release <code>{event.release}</code> has source maps, but none matched these frames' file names.
      </div>
    );
  }
  return null;
}

function StringMap({ map, testId }: { map: Record<string, unknown> | null | undefined; testId: string }) {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return null;
  return (
    <ul className="chips" data-testid={testId}>
      {entries.map(([k, v]) => (
        <li key={k} className="chip">
          <span className="chip-key">{k}</span>
          <span className="chip-value">{plainValue(v)}</span>
        </li>
      ))}
    </ul>
  );
}

function Trimmed({ meta }: { meta: TrimMeta | null | undefined }) {
  const entries = Object.entries(meta ?? {});
  if (entries.length === 0) return null;
  return (
    <div className="note" data-testid="trim-meta">
      Ingest trimmed this event to fit its limits:
      <ul>
        {entries.map(([path, info]) => (
          <li key={path}>
            <code>{path}</code> <span className="muted">{plainValue(info)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function EventView({ pid, event }: { pid: string; event: SentoriEvent }) {
  const [raw, setRaw] = useState(false);
  const [inAppOnly, setInAppOnly] = useState(false);
  const chain = causeChain(event.error);
  // Group members have stacks too: the toggles apply to every error shown.
  const tree = errorTree(event.error);
  const anyRaw = tree.some((e) => (e.stack ?? []).some(isMapped));
  const anyInApp = tree.some((e) => (e.stack ?? []).some((f) => f.inApp));
  const user = event.user ?? null;

  return (
    <div className="event" data-testid="event" data-event-id={event.id}>
      <div className="event-summary">
        <KeyValues
          rows={[
            ['Event', mono(event.id)],
            ['Happened', <DateTime value={event.timestamp} />],
            ['Received', <DateTime value={event.receivedAt} />],
            ['Release', mono(event.release)],
            ['Environment', line(event.environment)],
            [
              'Trace',
              event.traceId ? (
                <Link to={`/p/${seg(pid)}/traces/${seg(event.traceId)}`} className="mono" data-testid="event-trace-link">
                  {event.traceId}
                </Link>
              ) : null,
            ],
          ]}
        />
      </div>

      <Trimmed meta={event._meta} />

      {event.message && (
        <Section title="Message" testId="event-message-section">
          <pre className="event-message" data-testid="event-message">
            {event.message}
          </pre>
        </Section>
      )}

      {chain.length > 0 && (
        <Section
          title={chain.length > 1 ? `Exception and ${chain.length - 1} cause${chain.length > 2 ? 's' : ''}` : 'Exception'}
          testId="stacktrace"
          aside={
            <div className="toggles">
              {anyInApp && (
                <label>
                  <input type="checkbox" checked={inAppOnly} onChange={(e) => setInAppOnly(e.target.checked)} data-testid="toggle-inapp" /> In-app only
                </label>
              )}
              <label title={anyRaw ? 'Show positions in the bundle before source mapping' : 'No frame of this event was source-mapped'}>
                <input type="checkbox" checked={raw} disabled={!anyRaw} onChange={(e) => setRaw(e.target.checked)} data-testid="toggle-raw" /> Raw
              </label>
            </div>
          }
        >
          <SymbolicationNote event={event} />
          {chain.map((error, i) => (
            <ExceptionBlock key={i} error={error} index={i} raw={raw} inAppOnly={inAppOnly} />
          ))}
        </Section>
      )}

      <Section title="Breadcrumbs" testId="breadcrumbs-section">
        <Breadcrumbs crumbs={event.breadcrumbs ?? []} />
      </Section>

      {(event.attachments?.length ?? 0) > 0 && (
        <Section title="Attachments" testId="attachments-section">
          <Attachments pid={pid} eid={event.id} refs={event.attachments ?? []} />
        </Section>
      )}

      <div className="context-grid">
        <Section title="Device" testId="event-device">
          <KeyValues
            rows={[
              ['OS', line(`${plainValue(event.device?.os)} ${plainValue(event.device?.osVersion)}`.trim())],
              ['Model', line(event.device?.model)],
              ['Locale', line(event.device?.locale)],
              ['Network', line(event.device?.networkType)],
              ['Install', mono(event.device?.installId)],
            ]}
          />
        </Section>
        <Section title="App" testId="event-app">
          <KeyValues
            rows={[
              ['Version', line(event.app?.version)],
              ['Build', line(event.app?.build)],
              ['Framework', event.app?.framework ? line(`${plainValue(event.app.framework.name)} ${plainValue(event.app.framework.version)}`) : null],
              ['Platform', line(event.platform)],
              ['SDK', line(event.sdk)],
            ]}
          />
        </Section>
        <Section title="User" testId="event-user">
          {user ? (
            <KeyValues
              rows={[
                ['ID', mono(user.id)],
                ['Name', line(user.name)],
                ['Anonymous', user.anonymous == null ? null : user.anonymous ? 'yes' : 'no'],
              ]}
            />
          ) : (
            <p className="muted">No user was attached.</p>
          )}
        </Section>
      </div>

      {(Object.keys(event.tags ?? {}).length > 0 || Object.keys(event.flags ?? {}).length > 0) && (
        <Section title="Tags and flags" testId="event-tags">
          <StringMap map={event.tags} testId="event-tag-list" />
          {Object.keys(event.flags ?? {}).length > 0 && <h4 className="subhead">Feature flags</h4>}
          <StringMap map={event.flags} testId="event-flag-list" />
        </Section>
      )}
    </div>
  );
}
