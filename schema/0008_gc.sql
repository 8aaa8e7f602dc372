-- Online garbage collection (registryd/gc.c): review queues fed in the
-- same transactions as the changes that cause them, and the bytes of
-- deleted blobs, removed from storage only after their metadata deletion
-- has committed.
--
-- A manifest or a blob link is reviewed once its grace (the collector's
-- gc_grace setting) has passed since queued_at; re-queueing postpones
-- (ON CONFLICT DO UPDATE SET queued_at = now()), never DO NOTHING, so no
-- review is lost and a push that touches an item restarts its grace.
-- Blobs (gc_blob_reviews, from 0001) are due at review_after with no
-- grace: row locks alone order their deletion against a new link.
--
-- The queue rows have no foreign keys: they are written by triggers
-- while a repository delete cascades, and a review whose item is gone
-- is simply dropped.

CREATE TABLE gc_manifest_reviews (
	repository_id bigint NOT NULL,
	digest        text COLLATE "C" NOT NULL,
	queued_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX gc_manifest_reviews_queued ON gc_manifest_reviews (queued_at);

CREATE TABLE gc_repo_blob_reviews (
	repository_id bigint NOT NULL,
	digest        text COLLATE "C" NOT NULL,
	queued_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX gc_repo_blob_reviews_queued ON gc_repo_blob_reviews (queued_at);

CREATE INDEX gc_blob_reviews_due ON gc_blob_reviews (review_after);

-- Blobs whose rows are gone and whose bytes are still in storage. A push
-- of the same digest deletes its row (waiting for a removal under way),
-- so bytes are never removed from under a blob row.
CREATE TABLE gc_blob_deletions (
	digest    text COLLATE "C" PRIMARY KEY,
	size      bigint NOT NULL,
	queued_at timestamptz NOT NULL DEFAULT now()
);

-- What the collectors did, one row per node, for `berthctl gc status`.
CREATE TABLE gc_nodes (
	node              text PRIMARY KEY,
	grace_seconds     bigint NOT NULL,
	last_pass_at      timestamptz NOT NULL DEFAULT now(),
	reviewed          bigint NOT NULL DEFAULT 0,
	manifests_deleted bigint NOT NULL DEFAULT 0,
	links_deleted     bigint NOT NULL DEFAULT 0,
	blobs_deleted     bigint NOT NULL DEFAULT 0,
	bytes_freed       bigint NOT NULL DEFAULT 0
);

-- Whether a tag names a manifest, for the collector's check (the primary
-- key is by name).
CREATE INDEX tags_digest ON tags (repository_id, digest);

-- Whether the repository still exists: triggers fired by a repository
-- delete's cascade queue nothing for it (its blobs excepted).
CREATE FUNCTION berth_gc_repo_alive(p_repo bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM repositories WHERE id = p_repo)
$$;

CREATE FUNCTION berth_gc_queue_manifest(p_repo bigint, p_digest text)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO gc_manifest_reviews (repository_id, digest)
	VALUES (p_repo, p_digest)
	ON CONFLICT (repository_id, digest) DO UPDATE SET queued_at = now()
$$;

-- A tag moved away from a manifest or was deleted.
CREATE FUNCTION berth_gc_tag_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.digest = OLD.digest THEN
		RETURN NULL;
	END IF;
	IF berth_gc_repo_alive(OLD.repository_id) THEN
		PERFORM berth_gc_queue_manifest(OLD.repository_id, OLD.digest);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER gc_tag_changed AFTER UPDATE OF digest OR DELETE ON tags
	FOR EACH ROW EXECUTE FUNCTION berth_gc_tag_changed();

-- A manifest was pushed: reviewed after the grace, so that one pushed by
-- digest and never tagged nor referenced goes.
CREATE FUNCTION berth_gc_manifest_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM berth_gc_queue_manifest(NEW.repository_id, NEW.digest);
	RETURN NULL;
END
$$;
CREATE TRIGGER gc_manifest_inserted AFTER INSERT ON manifests
	FOR EACH ROW EXECUTE FUNCTION berth_gc_manifest_inserted();

-- A manifest was deleted: its referrers may go with it (their references
-- to it are subjects, not manifest_references rows).
CREATE FUNCTION berth_gc_manifest_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF berth_gc_repo_alive(OLD.repository_id) THEN
		INSERT INTO gc_manifest_reviews (repository_id, digest)
		SELECT m.repository_id, m.digest FROM manifests m
		WHERE m.repository_id = OLD.repository_id
		  AND m.subject = OLD.digest
		ON CONFLICT (repository_id, digest)
		DO UPDATE SET queued_at = now();
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER gc_manifest_deleted AFTER DELETE ON manifests
	FOR EACH ROW EXECUTE FUNCTION berth_gc_manifest_deleted();

-- A reference went (its manifest was deleted): the child manifest or the
-- blob link it held is reviewed.
CREATE FUNCTION berth_gc_reference_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT berth_gc_repo_alive(OLD.repository_id) THEN
		RETURN NULL;
	END IF;
	IF OLD.is_manifest THEN
		PERFORM berth_gc_queue_manifest(OLD.repository_id,
						OLD.target_digest);
	ELSE
		INSERT INTO gc_repo_blob_reviews (repository_id, digest)
		VALUES (OLD.repository_id, OLD.target_digest)
		ON CONFLICT (repository_id, digest)
		DO UPDATE SET queued_at = now();
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER gc_reference_deleted AFTER DELETE ON manifest_references
	FOR EACH ROW EXECUTE FUNCTION berth_gc_reference_deleted();

-- A blob link went (collected, DELETE /v2/.../blobs, a repository
-- delete): the blob goes once no repository links it.
CREATE FUNCTION berth_gc_link_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO gc_blob_reviews (digest) VALUES (OLD.digest)
	ON CONFLICT (digest) DO UPDATE SET review_after = now();
	RETURN NULL;
END
$$;
CREATE TRIGGER gc_link_deleted AFTER DELETE ON repository_blobs
	FOR EACH ROW EXECUTE FUNCTION berth_gc_link_deleted();

-- Everything stored before this migration is reviewed once: links and
-- untagged manifests that nothing would otherwise queue.
INSERT INTO gc_repo_blob_reviews (repository_id, digest)
SELECT repository_id, digest FROM repository_blobs
ON CONFLICT DO NOTHING;
INSERT INTO gc_manifest_reviews (repository_id, digest)
SELECT m.repository_id, m.digest FROM manifests m
WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id =
		  m.repository_id AND t.digest = m.digest)
ON CONFLICT DO NOTHING;

-- What a collection would remove now if nothing changed, read-only
-- (`berthctl gc run --dry-run`, `registryd gc --dry-run`): manifests no
-- tag reaches (through index children and subjects), older than the
-- grace; the blob links only such manifests (or none) reference, older
-- than the grace; the blobs left with no link; and their bytes.
CREATE FUNCTION berth_gc_report(p_grace_seconds bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH RECURSIVE kept (repository_id, digest) AS (
		SELECT t.repository_id, t.digest FROM tags t
		UNION
		SELECT m.repository_id, m.digest FROM manifests m
		WHERE m.created_at > now() - make_interval(secs => p_grace_seconds)
		UNION
		SELECT x.repository_id, x.digest FROM kept k,
		LATERAL (SELECT r.repository_id, r.target_digest AS digest
			 FROM manifest_references r
			 WHERE r.repository_id = k.repository_id
			   AND r.manifest_digest = k.digest AND r.is_manifest
			 UNION ALL
			 SELECT m.repository_id, m.digest FROM manifests m
			 WHERE m.repository_id = k.repository_id
			   AND m.subject = k.digest) x
	), live AS (
		SELECT repository_id, digest FROM kept
	), gone_manifests AS (
		SELECT m.repository_id, m.digest, m.size FROM manifests m
		WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.repository_id =
				  m.repository_id AND l.digest = m.digest)
	), gone_links AS (
		SELECT rb.repository_id, rb.digest FROM repository_blobs rb
		WHERE rb.created_at < now() - make_interval(secs => p_grace_seconds)
		  AND NOT EXISTS (
			SELECT 1 FROM manifest_references r
			JOIN live l ON l.repository_id = r.repository_id
				   AND l.digest = r.manifest_digest
			WHERE r.repository_id = rb.repository_id
			  AND r.target_digest = rb.digest AND NOT r.is_manifest)
	), gone_blobs AS (
		SELECT b.digest, b.size FROM blobs b
		WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb
				  WHERE rb.digest = b.digest
				    AND NOT EXISTS (SELECT 1 FROM gone_links g
						    WHERE g.repository_id =
							  rb.repository_id
						      AND g.digest = rb.digest))
	)
	SELECT jsonb_build_object(
		'manifests', (SELECT count(*) FROM gone_manifests),
		'manifest_bytes', (SELECT coalesce(sum(size), 0)
				   FROM gone_manifests),
		'blob_links', (SELECT count(*) FROM gone_links),
		'blobs', (SELECT count(*) FROM gone_blobs),
		'blob_bytes', (SELECT coalesce(sum(size), 0) FROM gone_blobs)
			      + (SELECT coalesce(sum(size), 0)
				 FROM gc_blob_deletions),
		'pending_deletions', (SELECT count(*) FROM gc_blob_deletions))
$$;

-- The queues as `berthctl gc status` shows them; overdue: due for more
-- than p_overdue_seconds (grace included) and not yet reviewed.
CREATE FUNCTION berth_gc_status(p_grace_seconds bigint,
				p_overdue_seconds bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'manifest_reviews', (SELECT count(*) FROM gc_manifest_reviews),
		'blob_link_reviews', (SELECT count(*) FROM gc_repo_blob_reviews),
		'blob_reviews', (SELECT count(*) FROM gc_blob_reviews),
		'pending_deletions', (SELECT count(*) FROM gc_blob_deletions),
		'due', (SELECT count(*) FROM gc_manifest_reviews WHERE queued_at
			< now() - make_interval(secs => p_grace_seconds))
		     + (SELECT count(*) FROM gc_repo_blob_reviews WHERE queued_at
			< now() - make_interval(secs => p_grace_seconds))
		     + (SELECT count(*) FROM gc_blob_reviews
			WHERE review_after <= now()),
		'overdue', (SELECT count(*) FROM gc_manifest_reviews
			    WHERE queued_at < now() - make_interval(
				secs => p_grace_seconds + p_overdue_seconds))
			 + (SELECT count(*) FROM gc_repo_blob_reviews
			    WHERE queued_at < now() - make_interval(
				secs => p_grace_seconds + p_overdue_seconds))
			 + (SELECT count(*) FROM gc_blob_reviews
			    WHERE review_after < now() - make_interval(
				secs => p_overdue_seconds)),
		'nodes', (SELECT coalesce(jsonb_agg(to_jsonb(n) ORDER BY n.node),
					  '[]') FROM gc_nodes n))
$$;

-- The collector's three steps, each one batch in the caller's transaction
-- (registryd/gc.c). Each claims due reviews with SKIP LOCKED (collectors
-- on other nodes take other rows), locks the items FOR UPDATE (so a push
-- that needs one waits, or finds it gone), and only then checks in a new
-- statement -- a new snapshot in READ COMMITTED, these functions being
-- VOLATILE -- that nothing references them. A review is dropped unless a
-- trigger re-queued it meanwhile (queued_at moved). Each returns
-- (reviewed, deleted, bytes).

-- Manifests no tag names, no index in the repository lists, and whose
-- subject (for a referrer) is not in the repository.
CREATE FUNCTION berth_gc_manifests(p_grace_seconds double precision,
				   p_limit int,
				   OUT reviewed bigint, OUT deleted bigint,
				   OUT bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	ids bigint[];
	digests text[];
	queued timestamptz[];
BEGIN
	SELECT array_agg(repository_id), array_agg(digest),
	       array_agg(queued_at) INTO ids, digests, queued
	FROM (SELECT repository_id, digest, queued_at FROM gc_manifest_reviews
	      WHERE queued_at < now() - make_interval(secs => p_grace_seconds)
	      ORDER BY queued_at LIMIT p_limit FOR UPDATE SKIP LOCKED) c;
	reviewed := coalesce(cardinality(ids), 0);
	deleted := 0;
	bytes := 0;
	IF reviewed = 0 THEN
		RETURN;
	END IF;
	PERFORM 1 FROM manifests m, unnest(ids, digests) AS u(id, digest)
	WHERE m.repository_id = u.id AND m.digest = u.digest
	ORDER BY m.repository_id, m.digest FOR UPDATE OF m;
	WITH d AS (
		DELETE FROM manifests m USING unnest(ids, digests) AS u(id, digest)
		WHERE m.repository_id = u.id AND m.digest = u.digest
		  AND NOT EXISTS (SELECT 1 FROM tags t
				  WHERE t.repository_id = m.repository_id
				    AND t.digest = m.digest)
		  AND NOT EXISTS (SELECT 1 FROM manifest_references r
				  WHERE r.repository_id = m.repository_id
				    AND r.target_digest = m.digest
				    AND r.is_manifest)
		  AND (m.subject IS NULL OR NOT EXISTS (
			SELECT 1 FROM manifests s
			WHERE s.repository_id = m.repository_id
			  AND s.digest = m.subject))
		RETURNING m.size)
	SELECT count(*), coalesce(sum(size), 0) INTO deleted, bytes FROM d;
	DELETE FROM gc_manifest_reviews g
	USING unnest(ids, digests, queued) AS u(id, digest, queued_at)
	WHERE g.repository_id = u.id AND g.digest = u.digest
	  AND g.queued_at = u.queued_at;
END
$$;

-- Blob links no manifest of the repository references.
CREATE FUNCTION berth_gc_links(p_grace_seconds double precision,
			       p_limit int,
			       OUT reviewed bigint, OUT deleted bigint,
			       OUT bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	ids bigint[];
	digests text[];
	queued timestamptz[];
BEGIN
	SELECT array_agg(repository_id), array_agg(digest),
	       array_agg(queued_at) INTO ids, digests, queued
	FROM (SELECT repository_id, digest, queued_at FROM gc_repo_blob_reviews
	      WHERE queued_at < now() - make_interval(secs => p_grace_seconds)
	      ORDER BY queued_at LIMIT p_limit FOR UPDATE SKIP LOCKED) c;
	reviewed := coalesce(cardinality(ids), 0);
	deleted := 0;
	bytes := 0;
	IF reviewed = 0 THEN
		RETURN;
	END IF;
	PERFORM 1 FROM repository_blobs b, unnest(ids, digests) AS u(id, digest)
	WHERE b.repository_id = u.id AND b.digest = u.digest
	ORDER BY b.repository_id, b.digest FOR UPDATE OF b;
	WITH d AS (
		DELETE FROM repository_blobs b
		USING unnest(ids, digests) AS u(id, digest)
		WHERE b.repository_id = u.id AND b.digest = u.digest
		  AND NOT EXISTS (SELECT 1 FROM manifest_references r
				  WHERE r.repository_id = b.repository_id
				    AND r.target_digest = b.digest
				    AND NOT r.is_manifest)
		RETURNING 1)
	SELECT count(*) INTO deleted FROM d;
	DELETE FROM gc_repo_blob_reviews g
	USING unnest(ids, digests, queued) AS u(id, digest, queued_at)
	WHERE g.repository_id = u.id AND g.digest = u.digest
	  AND g.queued_at = u.queued_at;
END
$$;

-- Blobs no repository links: the row goes now, the bytes once this has
-- committed (gc_blob_deletions).
CREATE FUNCTION berth_gc_blobs(p_limit int,
			       OUT reviewed bigint, OUT deleted bigint,
			       OUT bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	digests text[];
	due timestamptz[];
BEGIN
	SELECT array_agg(digest), array_agg(review_after) INTO digests, due
	FROM (SELECT digest, review_after FROM gc_blob_reviews
	      WHERE review_after <= now()
	      ORDER BY review_after LIMIT p_limit FOR UPDATE SKIP LOCKED) c;
	reviewed := coalesce(cardinality(digests), 0);
	deleted := 0;
	bytes := 0;
	IF reviewed = 0 THEN
		RETURN;
	END IF;
	PERFORM 1 FROM blobs b WHERE b.digest = ANY(digests)
	ORDER BY b.digest FOR UPDATE;
	WITH d AS (
		DELETE FROM blobs b WHERE b.digest = ANY(digests)
		  AND NOT EXISTS (SELECT 1 FROM repository_blobs rb
				  WHERE rb.digest = b.digest)
		RETURNING b.digest, b.size),
	q AS (
		INSERT INTO gc_blob_deletions (digest, size)
		SELECT digest, size FROM d
		ON CONFLICT (digest) DO UPDATE SET size = EXCLUDED.size,
			queued_at = now()
		RETURNING size)
	SELECT count(*), coalesce(sum(size), 0) INTO deleted, bytes FROM q;
	DELETE FROM gc_blob_reviews g
	USING unnest(digests, due) AS u(digest, review_after)
	WHERE g.digest = u.digest AND g.review_after = u.review_after;
END
$$;
