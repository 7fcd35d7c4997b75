-- The processor writes one `issue_users` row per new (issue, user) pair and
-- one `issue_hourly` row per issue and hour, hundreds per batch. Their
-- foreign keys to `issues` ran a lookup and took a row lock on the issue for
-- every one of those rows, a large part of a batch's cost (measured with the
-- processor benchmark, docs/performance.md). The processor only writes these
-- rows for issue ids it has just found or created in the same transaction,
-- and nothing deletes issues, so the keys guarded nothing the code does not.
-- Whatever comes to delete issues must delete these rows with them.
ALTER TABLE issue_users DROP CONSTRAINT issue_users_project_id_issue_id_fkey;
ALTER TABLE issue_hourly DROP CONSTRAINT issue_hourly_project_id_issue_id_fkey;
