-- The services a trace passed through (its spans' `service.name` tags, as
-- OTLP spans carry them), so the traces list can filter by service. A
-- mobile app's trace that continues into two backends lists both.
ALTER TABLE traces ADD COLUMN services text[] NOT NULL DEFAULT '{}';

UPDATE traces t
   SET services = s.services
  FROM (SELECT project_id, trace_id, array_agg(DISTINCT payload -> 'tags' ->> 'service.name' ORDER BY payload -> 'tags' ->> 'service.name') AS services
          FROM spans
         WHERE payload -> 'tags' ->> 'service.name' IS NOT NULL
         GROUP BY project_id, trace_id) s
 WHERE t.project_id = s.project_id AND t.trace_id = s.trace_id;

CREATE INDEX traces_services ON traces USING gin (services);
