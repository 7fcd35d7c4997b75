import { clipText } from '../lib/title';
import { CopyButton } from './Buttons';

/** Text beyond this is never laid out: the ellipsis shows long before, and the title and copy keep the whole. */
const RENDERED_MAX = 300;
/** Values at least this long get a copy button even where short ones do not. */
const COPY_FROM = 48;

/**
 * A value on one line, cut with an ellipsis where its box ends (a 5 000
 * character user id must not widen its column), with the full value on
 * hover and, for ids or long values, a button that copies all of it.
 */
export function Truncated({ value, mono = false, copy = false, testId }: { value: string; mono?: boolean; copy?: boolean; testId?: string }) {
  if (!value) return null;
  return (
    <span className="truncated" data-testid={testId}>
      <span className={`truncated-text${mono ? ' mono' : ''}`} title={value} data-testid="truncated-text">
        {clipText(value, RENDERED_MAX)}
      </span>
      {(copy || value.length >= COPY_FROM) && <CopyButton text={value} label="Copy" compact testId="copy-value" />}
    </span>
  );
}
