import { describe, expect, it } from 'vitest';
import { activityActor, activityText, silenceSummary } from './triage';
import { formatDateTime } from './time';

describe('silenceSummary', () => {
  const silenced = { status: 'silenced' as const, silencedUntil: null, silencedUntilEventCount: null, eventCount: 13 };
  it('says what ends the silence', () => {
    expect(silenceSummary(silenced)).toBe('until reopened');
    expect(silenceSummary({ ...silenced, silencedUntilEventCount: 100 })).toBe('until 87 more events');
    expect(silenceSummary({ ...silenced, silencedUntilEventCount: 14 })).toBe('until 1 more event');
    const at = '2026-12-07T15:00:00Z';
    expect(silenceSummary({ ...silenced, silencedUntil: at, silencedUntilEventCount: 20 })).toBe(`until ${formatDateTime(at)} or 7 more events`);
  });
  it('is nothing for an issue that is not silenced', () => {
    expect(silenceSummary({ ...silenced, status: 'active' })).toBeNull();
  });
});

describe('activityText', () => {
  it('says what happened', () => {
    expect(activityText({ kind: 'firstSeen', data: { release: 'shop@1.2.0' } })).toBe('First event, in release shop@1.2.0');
    expect(activityText({ kind: 'regressed', data: { release: 'shop@1.3.0', occurrence: 2 } })).toBe('Regressed in release shop@1.3.0 (2nd time)');
    expect(activityText({ kind: 'silenceEnded', data: { reason: 'time' } })).toBe('Silence ended: its time was up');
    expect(activityText({ kind: 'silenceEnded', data: { reason: 'events' } })).toMatch(/events it waited for/);
    expect(activityText({ kind: 'status', data: { from: 'active', to: 'resolved', resolvedInRelease: 'shop@2' } })).toBe('Resolved in release shop@2 (was active)');
    expect(activityText({ kind: 'status', data: { from: 'silenced', to: 'active' } })).toBe('Reopened (was silenced)');
    expect(activityText({ kind: 'status', data: { from: 'active', to: 'silenced', silencedUntilEventCount: 50 } })).toBe('Silenced until 50 events in all (was active)');
    expect(activityText({ kind: 'status', data: { from: 'silenced', to: 'silenced' } })).toBe('Silenced until reopened');
    expect(activityText({ kind: 'assigned', data: { to: 'ann' } })).toBe('Assigned to ann');
    expect(activityText({ kind: 'assigned', data: { from: 'ann', to: 'bob' } })).toBe('Reassigned from ann to bob');
    expect(activityText({ kind: 'assigned', data: { from: 'ann' } })).toBe('Unassigned (was ann)');
    expect(activityText({ kind: 'merged', data: { shortId: 'SHOP-3', title: 'TypeError: x', eventCount: 1 } })).toBe('Merged SHOP-3 into this one (TypeError: x, 1 event)');
  });
});

describe('activityActor', () => {
  it('names a token, else the kind of actor', () => {
    expect(activityActor({ actor: 'token', actorName: 'ci (…ab12)' })).toBe('token ci (…ab12)');
    expect(activityActor({ actor: 'token', actorName: null })).toBe('an admin token');
    expect(activityActor({ actor: 'processor', actorName: null })).toBe('processor');
  });
});
