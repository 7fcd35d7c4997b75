import { Link } from 'react-router';
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
export function Truncated({ value, mono = false, copy = false, to, testId }: {
  value: string;
  mono?: boolean;
  copy?: boolean;
  /** Makes the text (not the copy button) a link. */
  to?: string;
  testId?: string;
}) {
  if (!value) return null;
  const className = `truncated-text${mono ? ' mono' : ''}`;
  const text = clipText(value, RENDERED_MAX);
  return (
    <span className="truncated" data-testid={testId}>
      {to ? (
        <Link to={to} className={className} title={value} data-testid="truncated-text">
          {text}
        </Link>
      ) : (
        <span className={className} title={value} data-testid="truncated-text">
          {text}
        </span>
      )}
      {(copy || value.length >= COPY_FROM) && <CopyButton text={value} label="Copy" compact testId="copy-value" />}
    </span>
  );
}
