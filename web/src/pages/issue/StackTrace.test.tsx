import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ErrorInfo } from '../../api';
import { ExceptionBlock } from './StackTrace';

const frame = (fn: string) => ({ file: 'app.py', line: 3, function: fn, inApp: true });

describe('ExceptionBlock', () => {
  const group: ErrorInfo = {
    type: 'ExceptionGroup',
    message: 'reservation failed',
    stack: [frame('reserve_all')],
    exceptions: [
      { type: 'LookupError', message: 'fig is out of stock', stack: [frame('reserve')] },
      {
        type: 'ExceptionGroup',
        message: 'bad quantities',
        stack: [],
        exceptions: [{ type: 'TypeError', message: 'not a number', stack: [frame('parse')], cause: { type: 'ValueError', stack: [] } }],
      },
    ],
  };
  const html = renderToStaticMarkup(<ExceptionBlock error={group} index={0} raw={false} inAppOnly={false} />);
  const collapsed = (markup: string) => [...markup.matchAll(/<details[^>]*>/g)].map((m) => m[0]);

  it('lists a group’s members collapsed, under the error, with how many there are', () => {
    expect(collapsed(html)).toHaveLength(2);
    expect(collapsed(html).every((tag) => !tag.includes('open'))).toBe(true);
    expect(html).toContain('2 exceptions in this group');
    expect(html).toContain('1 exception in this group');
    expect(html.match(/data-testid="exception-member"/g)).toHaveLength(3);
  });

  it('shows each member with its type, message, stack and own cause', () => {
    for (const text of ['LookupError', 'fig is out of stock', 'reserve', 'TypeError', 'parse', 'ValueError']) {
      expect(html).toContain(text);
    }
    expect(html.indexOf('TypeError')).toBeLessThan(html.indexOf('Caused by'));
    expect(html.indexOf('Caused by')).toBeLessThan(html.indexOf('ValueError'));
  });

  it('shows no group for an error without members', () => {
    const plain = renderToStaticMarkup(<ExceptionBlock error={{ type: 'Error', stack: [] }} index={0} raw={false} inAppOnly={false} />);
    expect(plain).not.toContain('exception-group');
  });
});
