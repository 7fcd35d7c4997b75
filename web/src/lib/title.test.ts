import { describe, expect, it } from 'vitest';
import { clipText, documentTitle } from './title';

describe('documentTitle', () => {
  it('puts the page first and the product last', () => {
    expect(documentTitle('Issues')).toBe('Issues · Sentori');
    expect(documentTitle('TypeError: x is undefined', 'Issues')).toBe('TypeError: x is undefined · Issues · Sentori');
  });

  it('skips missing parts and collapses whitespace', () => {
    expect(documentTitle(null, '  Log   in\n', undefined, '')).toBe('Log in · Sentori');
    expect(documentTitle()).toBe('Sentori');
  });

  it('cuts a long part so the product name stays visible', () => {
    const title = documentTitle('x'.repeat(5000));
    expect(title.endsWith('… · Sentori')).toBe(true);
    expect(title.length).toBeLessThan(100);
  });
});

describe('clipText', () => {
  it('keeps short text as it is', () => {
    expect(clipText('shop@1.0.0+1', 20)).toBe('shop@1.0.0+1');
  });

  it('cuts to the limit with an ellipsis', () => {
    expect(clipText('abcdefghij', 5)).toBe('abcd…');
    expect(clipText('abcdefghij', 5)).toHaveLength(5);
  });

  it('never splits a character made of two UTF-16 units', () => {
    const text = `${'a'.repeat(3)}😀😀😀`;
    expect(clipText(text, 5)).toBe('aaa😀…');
    // Six code points fit in six, although the string is nine units long.
    expect(clipText(text, 6)).toBe(text);
  });
});
