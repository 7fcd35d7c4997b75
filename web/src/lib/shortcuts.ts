// Single-key shortcuts for triage (j/k, Enter, r, s, /, ?). A key press is a
// shortcut only when it is not typing: never inside a text field, select or
// editable element, and never with Ctrl, Alt or Meta held (the browser's and
// the system's own shortcuts stay theirs). Shift is allowed, so `?` works.

/** What of a keydown event decides whether it is a shortcut. */
export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  isComposing?: boolean;
  target: EventTarget | null;
}

const TEXT_INPUTS = new Set(['text', 'search', 'email', 'url', 'tel', 'password', 'number', 'date', 'datetime-local', 'month', 'time', 'week']);

/** Whether keys pressed in `target` are text the person is typing. */
export function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).tagName !== 'string') return false;
  const element = target as HTMLElement;
  const tag = element.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag === 'input') return TEXT_INPUTS.has(((element as HTMLInputElement).type || 'text').toLowerCase());
  return element.isContentEditable === true;
}

/** Elements that Enter already activates: a link, a button, a form control. */
function isActivatedByEnter(target: EventTarget | null): boolean {
  const tag = typeof (target as Element | null)?.tagName === 'string' ? (target as Element).tagName.toLowerCase() : '';
  return tag === 'a' || tag === 'button' || tag === 'input' || tag === 'summary';
}

/** The shortcut key `event` stands for, or null. */
export function shortcutKey(event: KeyPress): string | null {
  if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return null;
  if (isTyping(event.target)) return null;
  if (event.key === 'Enter' && isActivatedByEnter(event.target)) return null;
  return event.key;
}

/** Moves a selection of `count` rows by `step`, staying inside; from nothing, `j` starts at the top. */
export function moveSelection(current: number, step: 1 | -1, count: number): number {
  if (count === 0) return -1;
  if (current < 0) return step > 0 ? 0 : count - 1;
  return Math.min(count - 1, Math.max(0, current + step));
}
