-- Every project gets a small integer number: the last path segment of a
-- Sentry DSN (`https://<public token>@host/<number>`), which Sentry SDKs
-- require to be digits. Numbers start at 1 (`/api/0/` is Sentry's web API,
-- which sentry-cli calls) and are never reused. The dev project is always 1,
-- so ingest knows the dev token's number without a query; the projects
-- that exist already are numbered by age.
ALTER TABLE projects ADD COLUMN number bigint;

UPDATE projects p SET number = n.rn
  FROM (SELECT id, row_number() OVER (ORDER BY (id = '019508a0-0000-7000-8000-000000000000') DESC, created_at, id) AS rn
          FROM projects) n
 WHERE n.id = p.id;

CREATE SEQUENCE projects_number_seq OWNED BY projects.number;
SELECT setval('projects_number_seq', coalesce((SELECT max(number) FROM projects), 0) + 1, false);

ALTER TABLE projects
    ALTER COLUMN number SET DEFAULT nextval('projects_number_seq'),
    ALTER COLUMN number SET NOT NULL,
    ADD CONSTRAINT projects_number_unique UNIQUE (number),
    ADD CONSTRAINT projects_number_positive CHECK (number >= 1);
