-- `issue_hourly` counts an issue's events in the UTC hour they happened (the
-- event's `timestamp`, or its receive time when the timestamp is later), no
-- longer in the hour they arrived: an SDK that sends a day's stored events
-- at once must not make a spike in the current hour. Recount the hours the
-- stored events cover. Rows before the oldest stored event count events
-- retention has removed, which cannot be recounted, and are kept as they
-- are; events that happened before that hour are added to them, so every
-- event is still counted once.
DELETE FROM issue_hourly
 WHERE hour >= (SELECT date_trunc('hour', min(received_at), 'UTC') FROM events);

INSERT INTO issue_hourly (project_id, issue_id, hour, count)
SELECT project_id, issue_id, date_trunc('hour', least(timestamp, received_at), 'UTC'), count(*)
  FROM events
 GROUP BY 1, 2, 3
    ON CONFLICT (project_id, issue_id, hour) DO UPDATE SET count = issue_hourly.count + EXCLUDED.count;
