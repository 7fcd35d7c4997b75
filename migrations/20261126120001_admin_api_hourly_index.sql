-- The project list's `eventCount24h` sums a project's hourly issue counts of
-- the last 24 hours. The primary key starts with the issue, so without this
-- index every hour of every issue the project ever had is read; with it,
-- only the last day's rows, from the index alone.
CREATE INDEX issue_hourly_project_hour ON issue_hourly (project_id, hour) INCLUDE (count);
