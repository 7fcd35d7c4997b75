import { describe, expect, it } from 'vitest';
import { isTyping, moveSelection, shortcutKey } from './shortcuts';

/** A stand-in for a DOM element: what `isTyping` reads of one. */
const element = (tagName: string, extra: Record<string, unknown> = {}) => ({ tagName, ...extra }) as unknown as EventTarget;
const press = (key: string, target: EventTarget | null = element('BODY'), mods: Partial<Record<'ctrlKey' | 'altKey' | 'metaKey', boolean>> = {}) => ({
  key, ctrlKey: false, altKey: false, metaKey: false, target, ...mods,
});

describe('shortcutKey', () => {
  it('is the key outside text fields', () => {
    expect(shortcutKey(press('j'))).toBe('j');
    expect(shortcutKey(press('?'))).toBe('?');
    expect(shortcutKey(press('Enter', element('TR')))).toBe('Enter');
    expect(shortcutKey(press('r', element('INPUT', { type: 'checkbox' })))).toBe('r');
  });
  it('is nothing while typing or with a modifier', () => {
    expect(shortcutKey(press('j', element('INPUT', { type: 'search' })))).toBeNull();
    expect(shortcutKey(press('Enter', element('BUTTON')))).toBeNull();
    expect(shortcutKey(press('Enter', element('A')))).toBeNull();
    expect(shortcutKey(press('/', element('INPUT', { type: '' })))).toBeNull();
    expect(shortcutKey(press('s', element('TEXTAREA')))).toBeNull();
    expect(shortcutKey(press('k', element('SELECT')))).toBeNull();
    expect(shortcutKey(press('r', element('DIV', { isContentEditable: true })))).toBeNull();
    expect(shortcutKey(press('r', element('BODY'), { metaKey: true }))).toBeNull();
    expect(shortcutKey(press('s', element('BODY'), { ctrlKey: true }))).toBeNull();
    expect(shortcutKey({ ...press('j'), isComposing: true })).toBeNull();
  });
  it('knows no target as not typing', () => {
    expect(isTyping(null)).toBe(false);
  });
});

describe('moveSelection', () => {
  it('starts at the top going down and at the bottom going up', () => {
    expect(moveSelection(-1, 1, 5)).toBe(0);
    expect(moveSelection(-1, -1, 5)).toBe(4);
  });
  it('moves by one and stops at the ends', () => {
    expect(moveSelection(1, 1, 5)).toBe(2);
    expect(moveSelection(4, 1, 5)).toBe(4);
    expect(moveSelection(0, -1, 5)).toBe(0);
  });
  it('comes back inside a list that shrank, and is nothing in an empty one', () => {
    expect(moveSelection(9, 1, 3)).toBe(2);
    expect(moveSelection(9, -1, 3)).toBe(2);
    expect(moveSelection(2, 1, 0)).toBe(-1);
  });
});
