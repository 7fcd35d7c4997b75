// Who created a token, as the token list shows it.

import type { Token } from '../api/types';

/**
 * `operator`, or the creating token named by its label and last four
 * characters when it is in the same list (a token only creates tokens of its
 * own project), else by the start of its id.
 */
export function createdByLabel(createdBy: string, tokens: readonly Token[]): string {
  if (createdBy === 'operator') return 'operator';
  const creator = tokens.find((t) => t.id === createdBy);
  if (!creator) return `token ${createdBy.slice(0, 8)}`;
  const name = creator.label ? `“${creator.label}” ` : '';
  return `token ${name}st_pk_…${creator.last4}`;
}
