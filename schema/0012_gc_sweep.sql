-- A blob file the collector's sweep found with no row (a crash between
-- its rename into place and the COMMIT). The INSERT waits for a push of
-- the same digest that holds an uncommitted row, and then finds it: the
-- file is the push's. Otherwise the file goes through gc_blob_deletions,
-- as a collected blob's bytes do, so a push arriving now cancels it.
-- Whether it was queued.
CREATE FUNCTION berth_gc_orphan(p_digest text, p_size bigint)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO blobs (digest, size) VALUES (p_digest, p_size)
	ON CONFLICT (digest) DO NOTHING;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	DELETE FROM blobs WHERE digest = p_digest;
	INSERT INTO gc_blob_deletions (digest, size) VALUES (p_digest, p_size)
	ON CONFLICT (digest) DO UPDATE SET size = EXCLUDED.size,
		queued_at = now();
	RETURN true;
END
$$;
