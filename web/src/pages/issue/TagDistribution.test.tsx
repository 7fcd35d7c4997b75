import { describe, expect, it } from 'vitest';
import { tagFilterLink } from './TagDistribution';

describe('tagFilterLink', () => {
  it('filters the issue list by what the list can filter by', () => {
    expect(tagFilterLink('p1', 'screen', 'check out', true)).toBe('/p/p1/issues?status=all&tag=screen%3Dcheck+out');
    expect(tagFilterLink('p1', 'release', 'app@1.2+3', false)).toBe('/p/p1/issues?status=all&release=app%401.2%2B3');
    expect(tagFilterLink('p1', 'environment', 'prod', false)).toBe('/p/p1/issues?status=all&environment=prod');
  });
  it('links nothing for the device columns, which the list cannot filter by', () => {
    expect(tagFilterLink('p1', 'os', 'ios 17', false)).toBeNull();
  });
});
