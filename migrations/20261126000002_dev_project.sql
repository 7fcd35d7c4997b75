-- The built-in dev org and project of protocol.md. SENTORI_DEV_TOKEN acts as
-- an admin token of this project; the token itself lives only in configuration.
INSERT INTO orgs (id, name) VALUES ('019508a0-0001-7000-8000-000000000000', 'Dev')
ON CONFLICT (id) DO NOTHING;

INSERT INTO projects (id, org_id, name, platform)
VALUES ('019508a0-0000-7000-8000-000000000000', '019508a0-0001-7000-8000-000000000000', 'dev', 'javascript')
ON CONFLICT (id) DO NOTHING;
