import { describe, expect, it } from 'vitest';
import type { ErrorInfo, Schema } from '../api/types';
import { causeChain, contextLines, defaultExpandedFrame, errorTree, frameLocation, looksMinified, rawLocation, sourceMapText } from './stack';

const mapped: Schema<'Frame'> = {
  file: 'src/cart/checkout.ts',
  line: 42,
  column: 7,
  function: 'submitOrder',
  inApp: true,
  rawFile: 'https://shop.example.com/assets/app.3f9a1c.js',
  rawLine: 1,
  rawColumn: 18234,
  rawFunction: 'n',
  preContext: ['function submitOrder(cart) {', '  const total = sum(cart);'],
  contextLine: '  return api.post(total.value);',
  postContext: ['}'],
};

describe('frameLocation', () => {
  it('joins file, line and column', () => {
    expect(frameLocation(mapped)).toBe('src/cart/checkout.ts:42:7');
  });
  it('omits a missing column', () => {
    expect(frameLocation({ file: 'a.js', line: 3 })).toBe('a.js:3');
  });
});

describe('rawLocation', () => {
  it('shows the bundle position and minified name', () => {
    expect(rawLocation(mapped)).toBe('https://shop.example.com/assets/app.3f9a1c.js:1:18234 n');
  });
  it('is null for a frame that was never mapped', () => {
    expect(rawLocation({ file: 'a.js', line: 3, column: 4 })).toBeNull();
  });
  it('works without a raw function or column', () => {
    expect(rawLocation({ file: 'x', line: 1, rawFile: 'b.js', rawLine: 9 })).toBe('b.js:9');
  });
});

describe('sourceMapText', () => {
  it('names a bundle map found by debug ID', () => {
    const frame = { ...mapped, sourceMap: { kind: 'debugId' as const, name: '~/app.js.map', debugId: 'f107d9d9-2719-594d-82f6-a1ba49e9e582' } };
    expect(sourceMapText(frame)).toBe('~/app.js.map (debug ID f107d9d9-2719-594d-82f6-a1ba49e9e582)');
  });
  it('names a release artifact', () => {
    expect(sourceMapText({ ...mapped, sourceMap: { kind: 'release', name: 'app.3f9a1c.js.map' } })).toBe('app.3f9a1c.js.map (release artifact)');
  });
  it('is null when the server did not say', () => {
    expect(sourceMapText(mapped)).toBeNull();
  });
});

describe('contextLines', () => {
  it('numbers pre, current and post lines around the frame line', () => {
    expect(contextLines(mapped)).toEqual([
      { lineNo: 40, text: 'function submitOrder(cart) {', current: false },
      { lineNo: 41, text: '  const total = sum(cart);', current: false },
      { lineNo: 42, text: '  return api.post(total.value);', current: true },
      { lineNo: 43, text: '}', current: false },
    ]);
  });
  it('is empty without a context line', () => {
    expect(contextLines({ file: 'a', line: 1, preContext: ['x'] })).toEqual([]);
  });
});

describe('causeChain', () => {
  it('lists the error and its causes outermost first', () => {
    const root: ErrorInfo = { type: 'IOError', message: 'disk' };
    const mid: ErrorInfo = { type: 'DbError', message: 'write failed', cause: root };
    const top: ErrorInfo = { type: 'Error', message: 'save failed', cause: mid };
    expect(causeChain(top).map((e) => e.type)).toEqual(['Error', 'DbError', 'IOError']);
  });
  it('stops on a self-reference', () => {
    const loop: ErrorInfo = { type: 'Loop' };
    loop.cause = loop;
    expect(causeChain(loop)).toHaveLength(1);
  });
  it('is empty for no error', () => {
    expect(causeChain(null)).toEqual([]);
  });
});

describe('errorTree', () => {
  it('walks causes and group members, each error before what it holds', () => {
    const group: ErrorInfo = {
      type: 'ExceptionGroup',
      cause: { type: 'ZeroDivisionError' },
      exceptions: [
        { type: 'ValueError', cause: { type: 'KeyError' } },
        { type: 'ExceptionGroup', exceptions: [{ type: 'OSError' }] },
      ],
    };
    expect(errorTree(group).map((e) => e.type)).toEqual(['ExceptionGroup', 'ZeroDivisionError', 'ValueError', 'KeyError', 'ExceptionGroup', 'OSError']);
  });
  it('stops on a self-reference and at its bound', () => {
    const loop: ErrorInfo = { type: 'Loop' };
    loop.exceptions = [loop, loop];
    loop.cause = loop;
    expect(errorTree(loop)).toHaveLength(1);
    const wide: ErrorInfo = { type: 'Group', exceptions: Array.from({ length: 500 }, (_, i) => ({ type: `M${i}` })) };
    expect(errorTree(wide, 10)).toHaveLength(10);
    expect(errorTree(undefined)).toEqual([]);
  });
});

describe('defaultExpandedFrame', () => {
  it('prefers the top in-app frame with source', () => {
    const lib: Schema<'Frame'> = { file: 'node_modules/x.js', line: 1, contextLine: 'x()' };
    expect(defaultExpandedFrame([lib, mapped])).toBe(1);
  });
  it('falls back to any frame with source, then none', () => {
    const lib: Schema<'Frame'> = { file: 'node_modules/x.js', line: 1, contextLine: 'x()' };
    expect(defaultExpandedFrame([{ file: 'a', line: 1 }, lib])).toBe(1);
    expect(defaultExpandedFrame([{ file: 'a', line: 1 }])).toBe(-1);
  });
});

describe('looksMinified', () => {
  const frame = (f: Partial<Schema<'Frame'>>): Schema<'Frame'> => ({
    file: 'src/app.ts',
    line: 10,
    column: 4,
    function: 'render',
    inApp: true,
    ...f,
  });

  it('recognises bundles, minifier names and long first lines', () => {
    expect(looksMinified(frame({ file: 'https://cdn.example.com/app.min.js?v=2' }))).toBe(true);
    expect(looksMinified(frame({ file: '/assets/index-3f9a1c0b.js' }))).toBe(true);
    expect(looksMinified(frame({ function: 'Xe' }))).toBe(true);
    expect(looksMinified(frame({ line: 1, column: 18234 }))).toBe(true);
  });

  it('leaves readable and mapped frames alone', () => {
    expect(looksMinified(frame({}))).toBe(false);
    expect(looksMinified(frame({ file: 'server/index.js', function: 'handleRequest' }))).toBe(false);
    expect(looksMinified(mapped)).toBe(false);
  });
});
