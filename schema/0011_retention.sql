-- Retention policies: which tags of a repository, or of every repository
-- of a namespace, go when they are no longer wanted. A policy considers
-- the tags its pattern matches, except those an exclusion or an immutable
-- rule (0009) matches; of those it keeps the keep_last most recently
-- updated per repository, and of the rest deletes the ones not updated
-- for older_than_days (either bound may be NULL, not both). Only tags are
-- deleted: garbage collection takes the manifests left untagged.

CREATE FUNCTION berth_glob_like_all(p text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(berth_glob_like(x)), '{}') FROM unnest(p) x
$$;

CREATE FUNCTION berth_globs_valid(p text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(bool_and(berth_glob_valid(x)), true) FROM unnest(p) x
$$;

CREATE TABLE retention_policies (
	id              bigserial PRIMARY KEY,
	namespace       text COLLATE "C" NOT NULL
	                REFERENCES namespaces ON DELETE CASCADE,
	repository      text COLLATE "C",	-- NULL: the whole namespace
	pattern         text COLLATE "C" NOT NULL DEFAULT '*'
	                CHECK (berth_glob_valid(pattern)),
	like_pattern    text COLLATE "C" NOT NULL
	                GENERATED ALWAYS AS (berth_glob_like(pattern)) STORED,
	exclude         text[] COLLATE "C" NOT NULL DEFAULT '{}'
	                CHECK (cardinality(exclude) <= 32
	                       AND berth_globs_valid(exclude)),
	exclude_like    text[] COLLATE "C" NOT NULL
	                GENERATED ALWAYS AS (berth_glob_like_all(exclude))
	                STORED,
	keep_last       int CHECK (keep_last BETWEEN 0 AND 1000000),
	older_than_days int CHECK (older_than_days BETWEEN 1 AND 36500),
	enabled         boolean NOT NULL DEFAULT true,
	created_by      text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL DEFAULT now(),
	-- The schedule: registryd's retention tick runs a policy once
	-- next_run_at has passed, then moves it retention_interval on.
	next_run_at     timestamptz NOT NULL DEFAULT now(),
	last_run_at     timestamptz,
	last_deleted    int,
	CHECK (keep_last IS NOT NULL OR older_than_days IS NOT NULL),
	CHECK (repository IS NULL OR
	       left(repository, length(namespace) + 1) = namespace || '/')
);
CREATE INDEX retention_policies_scope ON retention_policies
	(namespace, repository);
CREATE INDEX retention_policies_due ON retention_policies (next_run_at)
	WHERE enabled;

-- The tags policy p_id would delete now, oldest first, at most p_limit.
-- Each repository's tags are ranked newest first (ties by name), so
-- keep_last keeps the same ones on every run.
CREATE FUNCTION berth_retention_plan(p_id bigint, p_limit int)
RETURNS TABLE (repository_id bigint, repository text, tag text,
	       digest text, updated_at timestamptz)
LANGUAGE sql STABLE AS $$
	WITH p AS (SELECT * FROM retention_policies WHERE id = p_id),
	repos AS (
		SELECT r.id, r.name FROM repositories r, p
		WHERE p.repository IS NOT NULL AND r.name = p.repository
		UNION ALL
		SELECT r.id, r.name FROM repositories r, p
		WHERE p.repository IS NULL AND r.name >= p.namespace || '/'
		  AND r.name < p.namespace || '0'),
	ranked AS (
		SELECT t.repository_id, repos.name AS repository, t.name AS tag,
		       t.digest, t.updated_at,
		       row_number() OVER (PARTITION BY t.repository_id
					  ORDER BY t.updated_at DESC,
						   t.name DESC) AS rank
		FROM repos JOIN tags t ON t.repository_id = repos.id, p
		WHERE t.name LIKE p.like_pattern
		  AND NOT t.name LIKE ANY (p.exclude_like)
		  AND NOT EXISTS (SELECT 1 FROM immutable_rules i
				  WHERE i.namespace = p.namespace
				    AND (i.repository IS NULL
					 OR i.repository = repos.name)
				    AND t.name LIKE i.like_pattern))
	SELECT x.repository_id, x.repository::text, x.tag::text,
	       x.digest::text, x.updated_at
	FROM ranked x, p
	WHERE (p.keep_last IS NULL OR x.rank > p.keep_last)
	  AND (p.older_than_days IS NULL OR x.updated_at <
	       now() - make_interval(days => p.older_than_days))
	ORDER BY x.updated_at, x.repository, x.tag
	LIMIT p_limit
$$;

-- Runs policy p_id in the caller's transaction: deletes what the plan
-- names, unless the tag moved or was pushed again meanwhile (the DELETE
-- rechecks digest and updated_at under the row lock, so a tag another
-- run deleted first is not counted twice), writes one audit record with
-- what went, and records the run; with p_interval (seconds) also moves
-- next_run_at on. Returns {"deleted": [{repository, tag, digest}],
-- "count", "more"}: more when p_limit stopped it.
CREATE FUNCTION berth_retention_run(p_id bigint, p_limit int, p_actor text,
				    p_client text, p_interval double precision)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	gone jsonb;
	n int;
	target text;
BEGIN
	SELECT coalesce(repository, namespace) INTO target
	FROM retention_policies WHERE id = p_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	WITH plan AS (SELECT * FROM berth_retention_plan(p_id, p_limit)),
	d AS (DELETE FROM tags t USING plan
	      WHERE t.repository_id = plan.repository_id
		AND t.name = plan.tag AND t.digest = plan.digest
		AND t.updated_at = plan.updated_at
	      RETURNING plan.repository, plan.tag, plan.digest,
			plan.updated_at)
	SELECT coalesce(jsonb_agg(jsonb_build_object('repository',
		d.repository, 'tag', d.tag, 'digest', d.digest)
		ORDER BY d.updated_at, d.repository, d.tag), '[]'), count(*)
	INTO gone, n FROM d;
	INSERT INTO audit_log (actor, action, target, client, success, detail)
	VALUES (p_actor, 'retention.run', target, coalesce(p_client, ''), true,
		jsonb_build_object('policy', p_id, 'count', n,
				   'deleted', gone));
	UPDATE retention_policies SET last_run_at = now(), last_deleted = n,
		next_run_at = CASE WHEN p_interval IS NULL THEN next_run_at
			WHEN n >= p_limit THEN now()
			ELSE now() + make_interval(secs => p_interval) END
	WHERE id = p_id;
	RETURN jsonb_build_object('policy', p_id, 'count', n,
				  'more', n >= p_limit, 'deleted', gone);
END
$$;
