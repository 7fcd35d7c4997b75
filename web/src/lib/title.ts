// The browser tab's text: what the page shows first, the product last, so
// a row of Sentori tabs can still be told apart.

export const PRODUCT = 'Sentori';
/** Tab titles show about this much; longer parts are cut so the product name survives. */
const MAX_PART = 80;

export function documentTitle(...parts: Array<string | null | undefined>): string {
  const named = parts.map((p) => (p ?? '').replace(/\s+/g, ' ').trim()).filter(Boolean);
  return [...named.map((p) => clipText(p, MAX_PART)), PRODUCT].join(' · ');
}

/**
 * At most `max` characters of `text`, with an ellipsis when cut. Counts code
 * points, so an emoji at the cut is never split into a broken half.
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text);
  if (points.length <= max) return text;
  return `${points.slice(0, Math.max(0, max - 1)).join('')}…`;
}
