-- An event's tags as a column of their own, so the issue list can filter by
-- `tag:key=value` and the issue page can break down any tag, not only the
-- device columns. `events.payload` is `json` text (see
-- 20261126230000_event_columns_json_payload.sql): looking inside it re-reads
-- the whole event, while `jsonb` containment (`tags @> '{"k":"v"}'`) reads
-- this small object only. Events stored before this migration have no
-- tags column value; they drop out of tag filters, as they age out anyway.
ALTER TABLE events ADD COLUMN tags jsonb;
