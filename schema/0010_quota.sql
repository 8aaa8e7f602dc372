-- Storage quotas per namespace (the first component of a repository's
-- name: a user's or an organization's). A namespace's usage is the bytes
-- of the distinct blobs its manifests reference (each blob once, however
-- many of its repositories and manifests reference it) plus the size of
-- each of its manifests (each (repository, digest) once). Triggers keep it
-- in the transaction of every change to manifests and manifest_references,
-- whoever makes it (registryd, authd's deletes, garbage collection); the
-- namespace's usage row is its writers' lock: every trigger locks it
-- before it touches the namespace's reference counts, so two pushes of one
-- new blob never both count it, and a manifest PUT that checks a limit
-- (registryd/quota.c) sees usage that no one else is changing.

-- Which namespace each repository's rows count in. Kept after the
-- repository row goes until the deleting transaction commits: the cascade
-- from repositories deletes manifests after the row is gone, and their
-- triggers still need the namespace.
CREATE TABLE quota_repositories (
	repository_id bigint PRIMARY KEY,
	namespace     text COLLATE "C" NOT NULL
);

-- Per namespace: the bytes counted (see above). Never deleted: the row is
-- the namespace's lock, and a limit needs it to exist.
CREATE TABLE quota_usage (
	namespace   text COLLATE "C" PRIMARY KEY,
	bytes       bigint NOT NULL DEFAULT 0
);

-- How many manifest_references rows of the namespace (NOT is_manifest)
-- name a blob, and the blob's size when it was first counted: the row
-- exists while refs > 0, and its size is in the namespace's usage.
CREATE TABLE quota_blob_refs (
	namespace   text COLLATE "C" NOT NULL,
	digest      text COLLATE "C" NOT NULL,
	refs        bigint NOT NULL,
	size        bigint NOT NULL,
	PRIMARY KEY (namespace, digest)
);

-- A namespace's limit, set by a system administrator; it goes with the
-- user or organization.
CREATE TABLE quota_limits (
	namespace   text COLLATE "C" PRIMARY KEY
	            REFERENCES namespaces ON DELETE CASCADE,
	limit_bytes bigint NOT NULL CHECK (limit_bytes >= 0),
	updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The namespace of repository p_repo, while its row exists or its
-- quota_repositories row does; NULL when neither.
CREATE FUNCTION berth_quota_ns(p_repo bigint)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce(
		(SELECT namespace FROM quota_repositories
		 WHERE repository_id = p_repo),
		(SELECT split_part(name, '/', 1) FROM repositories
		 WHERE id = p_repo))
$$;

-- Locks namespace p_ns's usage row, creating it if needed.
CREATE FUNCTION berth_quota_lock(p_ns text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM quota_usage WHERE namespace = p_ns FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO quota_usage (namespace) VALUES (p_ns)
		ON CONFLICT (namespace) DO NOTHING;
		PERFORM 1 FROM quota_usage WHERE namespace = p_ns FOR UPDATE;
	END IF;
END
$$;

CREATE FUNCTION berth_quota_repo_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO quota_repositories (repository_id, namespace)
	VALUES (NEW.id, split_part(NEW.name, '/', 1))
	ON CONFLICT (repository_id) DO NOTHING;
	RETURN NULL;
END
$$;

-- At commit, once every cascade of the delete has counted.
CREATE FUNCTION berth_quota_repo_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM quota_repositories WHERE repository_id = OLD.id;
	RETURN NULL;
END
$$;

CREATE FUNCTION berth_quota_manifest_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO quota_usage AS u (namespace, bytes)
	VALUES (berth_quota_ns(NEW.repository_id), NEW.size)
	ON CONFLICT (namespace) DO UPDATE SET bytes = u.bytes + EXCLUDED.bytes;
	RETURN NULL;
END
$$;

-- One more reference to a blob: counted in usage when the namespace had
-- none. The namespace's lock comes first (see the top of the file).
CREATE FUNCTION berth_quota_ref_added() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	ns text := berth_quota_ns(NEW.repository_id);
	sz bigint;
BEGIN
	PERFORM berth_quota_lock(ns);
	UPDATE quota_blob_refs SET refs = refs + 1
	WHERE namespace = ns AND digest = NEW.target_digest;
	IF NOT FOUND THEN
		sz := coalesce((SELECT size FROM blobs
				WHERE digest = NEW.target_digest), 0);
		INSERT INTO quota_blob_refs (namespace, digest, refs, size)
		VALUES (ns, NEW.target_digest, 1, sz);
		UPDATE quota_usage SET bytes = bytes + sz WHERE namespace = ns;
	END IF;
	RETURN NULL;
END
$$;

-- Deletes count per statement (garbage collection deletes in batches):
-- the namespaces' locks in name order, so that two batches over the same
-- namespaces wait for each other instead of deadlocking.
CREATE FUNCTION berth_quota_manifests_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM quota_usage
	WHERE namespace IN (SELECT berth_quota_ns(g.repository_id) FROM gone g)
	ORDER BY namespace FOR UPDATE;
	UPDATE quota_usage u SET bytes = u.bytes - s.total
	FROM (SELECT berth_quota_ns(g.repository_id) AS ns, sum(g.size) AS total
	      FROM gone g GROUP BY 1) s
	WHERE u.namespace = s.ns;
	RETURN NULL;
END
$$;

CREATE FUNCTION berth_quota_refs_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM quota_usage
	WHERE namespace IN (SELECT berth_quota_ns(g.repository_id) FROM gone g
			    WHERE NOT g.is_manifest)
	ORDER BY namespace FOR UPDATE;
	UPDATE quota_blob_refs b SET refs = b.refs - s.n
	FROM (SELECT berth_quota_ns(g.repository_id) AS ns, g.target_digest,
		     count(*) AS n
	      FROM gone g WHERE NOT g.is_manifest GROUP BY 1, 2) s
	WHERE b.namespace = s.ns AND b.digest = s.target_digest;
	WITH d AS (
		DELETE FROM quota_blob_refs b
		USING (SELECT DISTINCT berth_quota_ns(g.repository_id) AS ns,
			      g.target_digest
		       FROM gone g WHERE NOT g.is_manifest) s
		WHERE b.namespace = s.ns AND b.digest = s.target_digest
		  AND b.refs <= 0
		RETURNING b.namespace, b.size)
	UPDATE quota_usage u SET bytes = u.bytes - s.total
	FROM (SELECT namespace, sum(size) AS total FROM d GROUP BY 1) s
	WHERE u.namespace = s.namespace;
	RETURN NULL;
END
$$;

CREATE TRIGGER quota_repository_added AFTER INSERT ON repositories
	FOR EACH ROW EXECUTE FUNCTION berth_quota_repo_added();
CREATE CONSTRAINT TRIGGER quota_repository_gone AFTER DELETE ON repositories
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION berth_quota_repo_gone();
CREATE TRIGGER quota_manifest_added AFTER INSERT ON manifests
	FOR EACH ROW EXECUTE FUNCTION berth_quota_manifest_added();
CREATE TRIGGER quota_manifests_gone AFTER DELETE ON manifests
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION berth_quota_manifests_gone();
CREATE TRIGGER quota_ref_added AFTER INSERT ON manifest_references
	FOR EACH ROW WHEN (NOT NEW.is_manifest)
	EXECUTE FUNCTION berth_quota_ref_added();
CREATE TRIGGER quota_refs_gone AFTER DELETE ON manifest_references
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION berth_quota_refs_gone();

-- What the namespaces' usage and reference counts should be, from the
-- live repositories, manifests and references (one snapshot): (namespace,
-- digest, refs, size) per blob, and (namespace, NULL, 0, bytes) for the
-- namespace's manifests.
CREATE FUNCTION berth_quota_truth(p_ns text)
RETURNS TABLE (namespace text, digest text, refs bigint, size bigint)
LANGUAGE sql STABLE AS $$
	WITH r AS (
		SELECT id, split_part(name, '/', 1) COLLATE "C" AS ns
		FROM repositories
		WHERE p_ns IS NULL OR name = p_ns
		   OR (name >= p_ns || '/' AND name < p_ns || '0'))
	SELECT r.ns, mr.target_digest, count(*),
	       coalesce(max(b.size), 0)
	FROM manifest_references mr JOIN r ON r.id = mr.repository_id
	LEFT JOIN blobs b ON b.digest = mr.target_digest
	WHERE NOT mr.is_manifest GROUP BY 1, 2
	UNION ALL
	SELECT r.ns, NULL::text, 0::bigint, sum(m.size)::bigint
	FROM manifests m JOIN r ON r.id = m.repository_id GROUP BY 1
$$;

-- Per namespace (p_ns, or every one): the usage tracked and the usage
-- recomputed from the content, and how many reference counts differ, all
-- read in one snapshot, so that exact accounting shows as no difference
-- even while pushes and deletes run.
CREATE FUNCTION berth_quota_check(p_ns text)
RETURNS TABLE (namespace text, tracked bigint, recomputed bigint,
	       refs_drift bigint)
LANGUAGE sql STABLE AS $$
	WITH t AS (SELECT * FROM berth_quota_truth(p_ns)),
	actual AS (SELECT t.namespace, sum(t.size)::bigint AS bytes
		   FROM t GROUP BY 1),
	counted AS (SELECT * FROM quota_blob_refs b
		    WHERE p_ns IS NULL OR b.namespace = p_ns),
	drift AS (SELECT coalesce(t.namespace, c.namespace) AS namespace,
			 count(*) AS n
		  FROM (SELECT * FROM t WHERE t.digest IS NOT NULL) t
		  FULL JOIN counted c ON c.namespace = t.namespace
		   AND c.digest = t.digest
		  WHERE t.refs IS DISTINCT FROM c.refs
		     OR t.size IS DISTINCT FROM c.size GROUP BY 1),
	names AS (SELECT a.namespace FROM actual a
		  UNION SELECT u.namespace FROM quota_usage u
		  WHERE p_ns IS NULL OR u.namespace = p_ns
		  UNION SELECT d.namespace FROM drift d)
	SELECT n.namespace, coalesce(u.bytes, 0), coalesce(a.bytes, 0),
	       coalesce(d.n, 0)
	FROM names n
	LEFT JOIN quota_usage u ON u.namespace = n.namespace
	LEFT JOIN actual a ON a.namespace = n.namespace
	LEFT JOIN drift d ON d.namespace = n.namespace
	ORDER BY 1
$$;

-- Rewrites namespace p_ns's reference counts and usage from its content,
-- under its lock (so no push or delete of it is half counted), and the
-- repositories' namespaces; returns the usage it had and has.
CREATE FUNCTION berth_quota_fix(p_ns text, OUT tracked bigint,
	OUT recomputed bigint)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM berth_quota_lock(p_ns);
	SELECT bytes INTO tracked FROM quota_usage WHERE namespace = p_ns;
	INSERT INTO quota_repositories AS q (repository_id, namespace)
	SELECT id, split_part(name, '/', 1) FROM repositories
	WHERE name = p_ns OR (name >= p_ns || '/' AND name < p_ns || '0')
	ON CONFLICT (repository_id) DO UPDATE SET namespace = EXCLUDED.namespace;
	DELETE FROM quota_blob_refs WHERE namespace = p_ns;
	INSERT INTO quota_blob_refs (namespace, digest, refs, size)
	SELECT t.namespace, t.digest, t.refs, t.size
	FROM berth_quota_truth(p_ns) t WHERE t.digest IS NOT NULL;
	SELECT coalesce(sum(t.size), 0) INTO recomputed
	FROM berth_quota_truth(p_ns) t;
	UPDATE quota_usage SET bytes = recomputed WHERE namespace = p_ns;
END
$$;

-- Every namespace: what it had and what it has; with p_fix, the ones that
-- differ are rewritten (berth_quota_fix) and fixed is true for them.
CREATE FUNCTION berth_quota_recompute(p_fix boolean)
RETURNS TABLE (namespace text, tracked bigint, recomputed bigint,
	       refs_drift bigint, fixed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	c record;
	f record;
BEGIN
	IF p_fix THEN
		DELETE FROM quota_repositories q
		WHERE NOT EXISTS (SELECT 1 FROM repositories r
				  WHERE r.id = q.repository_id);
	END IF;
	FOR c IN SELECT * FROM berth_quota_check(NULL) LOOP
		namespace := c.namespace;
		tracked := c.tracked;
		recomputed := c.recomputed;
		refs_drift := c.refs_drift;
		fixed := false;
		IF p_fix AND (c.tracked <> c.recomputed OR c.refs_drift > 0)
		THEN
			SELECT * INTO f FROM berth_quota_fix(c.namespace);
			tracked := f.tracked;
			recomputed := f.recomputed;
			fixed := true;
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$;

-- The repositories and content of before this migration.
INSERT INTO quota_repositories (repository_id, namespace)
SELECT id, split_part(name, '/', 1) FROM repositories;
INSERT INTO quota_blob_refs (namespace, digest, refs, size)
SELECT t.namespace, t.digest, t.refs, t.size
FROM berth_quota_truth(NULL) t WHERE t.digest IS NOT NULL;
INSERT INTO quota_usage (namespace, bytes)
SELECT t.namespace, sum(t.size) FROM berth_quota_truth(NULL) t GROUP BY 1;
