-- The self-hosting guide Sentori has always shipped adds a recipient with
--   INSERT INTO notification_recipients (id, project_id, email, on_new_issue)
--   VALUES (gen_random_uuid(), '<project id>', '<email>', true)
-- The table is `recipients`; this view keeps that statement (and reads and
-- updates through the old name) working. A single-table view of plain
-- columns is updatable by PostgreSQL itself, and columns an INSERT leaves
-- out take the table's defaults.
CREATE VIEW notification_recipients AS
    SELECT id, project_id, email, on_new_issue, on_regression, created_at
      FROM recipients;
