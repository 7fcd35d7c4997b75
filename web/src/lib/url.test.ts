import { describe, expect, it } from 'vitest';
import { queryString, safeHttpUrl, safeNextPath, seg } from './url';

describe('safeHttpUrl', () => {
  it('accepts http and https', () => {
    expect(safeHttpUrl('https://example.com/a?b=1')).toBe('https://example.com/a?b=1');
    expect(safeHttpUrl('  HTTP://Example.com  ')).toBe('http://example.com/');
  });
  it('rejects script and data schemes in any case and with whitespace tricks', () => {
    expect(safeHttpUrl('javascript:alert(1)')).toBeNull();
    expect(safeHttpUrl(' JaVaScRiPt:alert(1)')).toBeNull();
    expect(safeHttpUrl('java\tscript:alert(1)')).toBeNull();
    expect(safeHttpUrl('data:text/html,<script>alert(1)</script>')).toBeNull();
    expect(safeHttpUrl('vbscript:msgbox')).toBeNull();
  });
  it('rejects relative and protocol-relative URLs', () => {
    expect(safeHttpUrl('//evil.example/x')).toBeNull();
    expect(safeHttpUrl('/admin/api/logout')).toBeNull();
    expect(safeHttpUrl('app:///main.js')).toBeNull();
  });
  it('rejects non-strings', () => {
    expect(safeHttpUrl(42)).toBeNull();
    expect(safeHttpUrl(null)).toBeNull();
  });
});

describe('seg', () => {
  it('encodes release names so they stay one path segment', () => {
    expect(seg('myapp@1.2.3+456')).toBe('myapp%401.2.3%2B456');
    expect(seg('a/b')).toBe('a%2Fb');
  });
});

describe('queryString', () => {
  it('drops empty values and encodes the rest', () => {
    expect(queryString({ status: 'active', query: 'a b&c', release: '', cursor: undefined, limit: 50 })).toBe(
      '?status=active&query=a+b%26c&limit=50',
    );
  });
  it('is empty when nothing is set', () => {
    expect(queryString({ a: null })).toBe('');
  });
});

describe('safeNextPath', () => {
  it('keeps local paths with their query', () => {
    expect(safeNextPath('/p/1/issues?status=all')).toBe('/p/1/issues?status=all');
  });
  it('refuses other origins and loops back to login', () => {
    expect(safeNextPath('//evil.example/')).toBe('/');
    expect(safeNextPath('/\\evil.example/')).toBe('/');
    expect(safeNextPath('https://evil.example/')).toBe('/');
    expect(safeNextPath('/login?next=/x')).toBe('/');
    expect(safeNextPath(null)).toBe('/');
  });
});
