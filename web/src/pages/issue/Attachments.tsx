import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api, keys, type Attachment, type Schema } from '../../api';
import { formatBytes } from '../../lib/format';
import { ErrorText } from '../../components/states';

// Only formats an <img> decodes safely; an SVG could carry script when opened
// on its own, so it is never previewed even if an SDK labels it an image.
const PREVIEWABLE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const TEXT_TYPES = new Set(['application/json', 'text/plain', 'application/x-ndjson']);

function TextPreview({ pid, eid, item }: { pid: string; eid: string; item: Attachment }) {
  const text = useQuery({
    queryKey: [...keys.attachments(pid, eid), item.ref, 'text'],
    queryFn: ({ signal }) => api.events.attachmentText(pid, eid, item.ref, 200_000, signal),
    staleTime: Infinity,
  });
  if (text.isPending) return <div className="muted">Loading preview…</div>;
  if (text.isError) return <div className="inline-error"><ErrorText error={text.error} /></div>;
  let body = text.data.text;
  if (item.mediaType === 'application/json' && !text.data.truncated) {
    try {
      body = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // Show it as sent when it is not valid JSON.
    }
  }
  return (
    <>
      <pre className="attachment-text" data-testid="attachment-text">{body}</pre>
      {text.data.truncated && <div className="muted">Preview cut; download the file for all of it.</div>}
    </>
  );
}

function AttachmentItem({ pid, eid, item }: { pid: string; eid: string; item: Attachment }) {
  const [preview, setPreview] = useState(false);
  const url = api.events.attachmentUrl(pid, eid, item.ref);
  const isImage = PREVIEWABLE_IMAGES.has(item.mediaType);
  const isText = TEXT_TYPES.has(item.mediaType);
  return (
    <li className="attachment" data-testid="attachment" data-kind={item.kind}>
      <div className="attachment-head">
        <span className="badge">{item.kind}</span>
        <span className="mono">{item.mediaType}</span>
        <span className="muted">{formatBytes(item.sizeBytes)}</span>
        <a href={url} download className="attachment-download">
          Download
        </a>
        {isText && (
          <button type="button" className="btn btn-small" onClick={() => setPreview((p) => !p)}>
            {preview ? 'Hide' : 'Preview'}
          </button>
        )}
      </div>
      {isImage && (
        <a href={url} target="_blank" rel="noopener noreferrer" className="attachment-image-link">
          <img src={url} alt={`${item.kind} attachment`} loading="lazy" className="attachment-image" data-testid="attachment-image" />
        </a>
      )}
      {isText && preview && <TextPreview pid={pid} eid={eid} item={item} />}
    </li>
  );
}

/** Falls back to the refs inside the event when the list cannot be loaded. */
function fromRefs(refs: Schema<'AttachmentRef'>[]): Attachment[] {
  return refs.map((r) => ({
    ref: r.ref,
    kind: r.kind,
    mediaType: r.mediaType ?? 'application/octet-stream',
    sizeBytes: r.sizeBytes ?? 0,
    source: r.source ?? null,
    capturedAt: null,
    createdAt: '',
  }));
}

export function Attachments({ pid, eid, refs }: { pid: string; eid: string; refs: Schema<'AttachmentRef'>[] }) {
  const list = useQuery({
    queryKey: keys.attachments(pid, eid),
    queryFn: ({ signal }) => api.events.attachments(pid, eid, signal),
    retry: false,
  });
  if (list.isPending) return <div className="muted">Loading attachments…</div>;
  if (list.isError) {
    if (list.error instanceof ApiError && list.error.code === 'attachmentsDisabled') {
      return <p className="muted">Attachment storage is not configured on this server (SENTORI_ATTACHMENT_DIR).</p>;
    }
    if (refs.length === 0) return <div className="inline-error"><ErrorText error={list.error} /></div>;
  }
  const items = list.isSuccess ? list.data : fromRefs(refs);
  if (items.length === 0) return <p className="muted">No attachments were sent with this event.</p>;
  return (
    <ul className="attachments" data-testid="attachments">
      {items.map((item) => (
        <AttachmentItem key={item.ref} pid={pid} eid={eid} item={item} />
      ))}
    </ul>
  );
}
