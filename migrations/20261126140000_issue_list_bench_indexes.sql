-- The issue list's `release` filter walks the issues in sort order and
-- probes `events` for each one, about 10 µs a probe across the partitions.
-- Releases follow each other in time, so for an old release sorted by first
-- seen most issues are newer than all of its events, and thousands were
-- probed for a page (60 ms with 1 M events, docs/performance.md). An issue
-- with an event in the release must overlap the release's span of event
-- timestamps (first_seen and last_seen are the least and greatest timestamp
-- of the issue's events), and this index gives that span in a few index
-- descents, so the walk skips the issues outside it without probing.
CREATE INDEX events_release_time ON events (project_id, release, timestamp);
