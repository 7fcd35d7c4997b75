-- The issue list's text search moves to a table of its own.
--
-- The trigram index `issues_search` sat on `issues`, whose counters the
-- processor updates for nearly every issue in every batch. Those updates
-- change indexed columns (event_count, last_seen), so none is a HOT update
-- and each one added a new entry to every index of the table, the trigram
-- index's dozens of trigrams included: 45 % of the cost of that update in
-- the processor benchmark (docs/performance.md). The searched text (title,
-- culprit, type) never changes after an issue is created, so it is written
-- once, by a trigger on insert, and the counter updates leave it alone.

CREATE TABLE issue_search (
    project_id  uuid NOT NULL,
    issue_id    uuid NOT NULL,
    -- What the list's `query` matches, as `issues_search` indexed it.
    document    text NOT NULL,
    PRIMARY KEY (project_id, issue_id),
    FOREIGN KEY (project_id, issue_id) REFERENCES issues (project_id, id) ON DELETE CASCADE
);

CREATE FUNCTION sentori_issue_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO issue_search (project_id, issue_id, document)
    VALUES (NEW.project_id, NEW.id,
            coalesce(NEW.title, '') || ' ' || coalesce(NEW.culprit, '') || ' ' || coalesce(NEW.type, ''));
    RETURN NULL;
END
$$;

CREATE TRIGGER issues_search_document AFTER INSERT ON issues
    FOR EACH ROW EXECUTE FUNCTION sentori_issue_search_document();

INSERT INTO issue_search (project_id, issue_id, document)
SELECT project_id, id, coalesce(title, '') || ' ' || coalesce(culprit, '') || ' ' || coalesce(type, '')
  FROM issues;

CREATE INDEX issue_search_document ON issue_search USING gin (document gin_trgm_ops);
DROP INDEX issues_search;
