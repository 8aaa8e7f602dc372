-- What a storage driver must remember of an upload between requests,
-- beside its size and hash state, so that any node continues it: for
-- object storage, the multipart upload's id, its parts and the object
-- holding bytes not yet a part. Opaque to SQL; NULL for the filesystem.
-- Written by the same UPDATE that advances size, so the two agree.
ALTER TABLE uploads ADD COLUMN storage_state text;
