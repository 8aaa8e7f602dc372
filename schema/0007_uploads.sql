-- Upload limits: who opened each upload session, so that a node can count
-- a user's and a repository's open sessions when a new one starts (429
-- past max_uploads_per_user or max_uploads_per_repo). '' is an anonymous
-- session (a registry without token auth): it counts against its
-- repository only. Sessions opened before this migration count as ''.
ALTER TABLE uploads ADD COLUMN opened_by text NOT NULL DEFAULT '';
CREATE INDEX uploads_opened_by ON uploads (opened_by) WHERE opened_by <> '';
CREATE INDEX uploads_repository ON uploads (repository_id);
