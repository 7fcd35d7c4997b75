import { useEffect, useRef, useState } from 'react';
import { shortcutKey } from '../lib/shortcuts';

export interface Shortcut {
  /** The keys that run it, as `KeyboardEvent.key` names them. */
  keys: string[];
  /** What it does, for the help overlay. */
  label: string;
  run: () => void;
}

const KEY_NAMES: Record<string, string> = { Enter: '⏎ Enter', Escape: 'Esc' };

/**
 * The page's keyboard shortcuts, active while it is shown, with a button and
 * `?` opening a list of them. Keys pressed while typing are left alone.
 */
export function Shortcuts({ shortcuts }: { shortcuts: Shortcut[] }) {
  const [help, setHelp] = useState(false);
  // The handler is registered once; it reads the shortcuts of the last render.
  const latest = useRef(shortcuts);
  latest.current = shortcuts;

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const key = shortcutKey(event);
      if (key === null) return;
      if (key === '?') {
        event.preventDefault();
        setHelp((open) => !open);
        return;
      }
      if (key === 'Escape') {
        setHelp(false);
        return;
      }
      const shortcut = latest.current.find((s) => s.keys.includes(key));
      if (shortcut) {
        // `/` would otherwise be typed into the search box it focuses.
        event.preventDefault();
        shortcut.run();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  return (
    <>
      <button type="button" className="btn btn-small btn-link shortcuts-button" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)" data-testid="shortcuts-button">
        <kbd>?</kbd> Shortcuts
      </button>
      {help && (
        <div className="shortcut-backdrop" onClick={() => setHelp(false)}>
          <div className="shortcut-help" role="dialog" aria-label="Keyboard shortcuts" onClick={(e) => e.stopPropagation()} data-testid="shortcut-help">
            <h2>Keyboard shortcuts</h2>
            <dl>
              {[...shortcuts, { keys: ['?'], label: 'Show or hide this list' }].map((s) => (
                <div key={s.label} className="shortcut-row">
                  <dt>
                    {s.keys.map((k) => (
                      <kbd key={k}>{KEY_NAMES[k] ?? k}</kbd>
                    ))}
                  </dt>
                  <dd>{s.label}</dd>
                </div>
              ))}
            </dl>
            <p className="muted">Not while typing in a field. Esc closes this list.</p>
            <button type="button" className="btn btn-small" onClick={() => setHelp(false)} data-testid="shortcut-help-close">
              Close
            </button>
          </div>
        </div>
      )}
    </>
  );
}
