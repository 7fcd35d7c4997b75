-- Who created each token: NULL for the operator (the dashboard session, or
-- the dev token, which the operator configured), else the admin token that
-- created it. An admin token created by another token may not create admin
-- tokens, so a leaked token cannot mint itself a lasting successor chain.
-- Tokens from before this column count as the operator's.
ALTER TABLE tokens ADD COLUMN created_by_token uuid REFERENCES tokens (id);
