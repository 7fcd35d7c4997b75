-- The transaction summary groups a window of traces by root name: with this
-- index PostgreSQL 18 skip-scans each name's range of start times and reads
-- the names in order, so it needs neither the heap nor a sort by name. The
-- traces list filtered by a root name walks it newest first, as it sorts.
CREATE INDEX traces_root_name ON traces (project_id, root_name, started_at DESC, trace_id) INCLUDE (duration_ms, status);
