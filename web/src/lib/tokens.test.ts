import { describe, expect, it } from 'vitest';
import type { Token } from '../api/types';
import { createdByLabel } from './tokens';

const token = (id: string, label: string | null, last4: string): Token => ({
  id,
  kind: 'admin',
  label,
  last4,
  createdBy: 'operator',
  createdAt: '2026-12-01T00:00:00Z',
  revokedAt: null,
});

describe('createdByLabel', () => {
  const tokens = [token('0193a1b2-0000-7000-8000-000000000001', 'ci', 'wxyz'), token('0193a1b2-0000-7000-8000-000000000002', null, 'abcd')];
  it('names the operator', () => {
    expect(createdByLabel('operator', tokens)).toBe('operator');
  });
  it('names a creating token by label and last four characters', () => {
    expect(createdByLabel('0193a1b2-0000-7000-8000-000000000001', tokens)).toBe('token “ci” st_pk_…wxyz');
    expect(createdByLabel('0193a1b2-0000-7000-8000-000000000002', tokens)).toBe('token st_pk_…abcd');
  });
  it('falls back to the start of an id it cannot find', () => {
    expect(createdByLabel('0193ffff-0000-7000-8000-000000000009', tokens)).toBe('token 0193ffff');
  });
});
