import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { IssueHistogram } from '../../api';
import { HistogramChart } from './EventsHistogram';
import { bucketLabel } from '../../components/BucketChart';

function days(counts: number[]): IssueHistogram {
  const start = Date.UTC(2026, 10, 19);
  return {
    period: '14d',
    bucket: 'day',
    buckets: counts.map((count, i) => ({ start: new Date(start + i * 86_400_000).toISOString().replace('.000Z', 'Z'), count })),
  };
}

describe('HistogramChart', () => {
  const counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2];
  const html = renderToStaticMarkup(<HistogramChart histogram={days(counts)} />);

  it('says how many events the period holds, the sum of its buckets', () => {
    expect(html).toContain('data-total="6"');
    expect(html).toContain('6 events in the last 14 days, peak 4 in one day');
  });

  it('names every bucket with its day and count on hover', () => {
    const titles = [...html.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toHaveLength(14);
    expect(titles[11]).toBe('2026-11-30 (UTC): 4 events');
    expect(titles[0]).toBe('2026-11-19 (UTC): 0 events');
    expect(titles[13]).toBe('2026-12-02 (UTC): 2 events');
  });

  it('draws the peak bucket at the top of the chart', () => {
    // 280 wide, 14 points 280/13 apart; the peak (index 11) at the top padding.
    expect(html).toMatch(/L236\.92,2 /);
  });

  it('draws a flat line for a period without events', () => {
    const empty = renderToStaticMarkup(<HistogramChart histogram={days(new Array(14).fill(0))} />);
    expect(empty).toContain('0 events in the last 14 days');
    expect(empty).toContain('M0,54 ');
  });
});

describe('bucketLabel', () => {
  it('shows hours in the viewer zone and days as the UTC days they are', () => {
    expect(bucketLabel('2026-12-02T14:00:00Z', 'hour')).toBe('2026-12-02 14:00');
    expect(bucketLabel('2026-11-30T00:00:00Z', 'day')).toBe('2026-11-30 (UTC)');
  });
});
