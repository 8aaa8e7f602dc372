-- The catalog as a token's subject sees it, one keyset page at a time,
-- with the same rule as berth_repo_level >= 1 but without calling it per
-- row: each source of visibility (public repositories, whole namespaces,
-- single repositories) is an index range bounded by the page size, so a
-- page costs the same however many repositories the registry holds and
-- however few of them the subject may see. Every comparison is in the C
-- collation, the byte order the catalog pages in.

CREATE INDEX repositories_public ON repositories (name) WHERE public;

CREATE FUNCTION berth_catalog(p_subject text, p_after text, p_limit int)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
	uid bigint;
	sid bigint;
	uname text;
	admin boolean := false;
	spaces text[];
	repos text[];
BEGIN
	IF position('+' in p_subject) > 0 THEN
		SELECT s.id INTO sid FROM service_accounts s
		JOIN organizations o ON o.id = s.org_id
		WHERE o.name = split_part(p_subject, '+', 1)
		  AND s.name = split_part(p_subject, '+', 2) AND NOT s.disabled;
	ELSIF p_subject <> '' THEN
		SELECT id, name, is_admin INTO uid, uname, admin FROM users
		WHERE name = p_subject AND NOT disabled;
	END IF;
	IF coalesce(admin, false) THEN
		RETURN QUERY SELECT name::text FROM repositories
			WHERE name > p_after ORDER BY name LIMIT p_limit;
		RETURN;
	END IF;
	-- Namespaces the subject reads whole: its own, organizations it owns,
	-- and namespace-wide grants to it, its teams or the service account.
	SELECT array_agg(DISTINCT ns) INTO spaces FROM (
		SELECT uname AS ns WHERE uname IS NOT NULL
		UNION ALL
		SELECT o.name FROM org_members m
		JOIN organizations o ON o.id = m.org_id
		WHERE m.user_id = uid AND m.role = 'owner'
		UNION ALL
		SELECT g.namespace FROM grants g
		WHERE g.repository IS NULL
		  AND (g.user_id = uid OR g.sa_id = sid
		       OR g.team_id IN (SELECT team_id FROM team_members
		                        WHERE user_id = uid))) n;
	SELECT array_agg(DISTINCT g.repository) INTO repos FROM grants g
	WHERE g.repository IS NOT NULL
	  AND (g.user_id = uid OR g.sa_id = sid
	       OR g.team_id IN (SELECT team_id FROM team_members
	                        WHERE user_id = uid));
	RETURN QUERY
	SELECT v.name FROM (
		(SELECT r.name::text AS name FROM repositories r
		 WHERE r.public AND r.name > p_after
		 ORDER BY r.name LIMIT p_limit)
		UNION
		(SELECT x.name FROM unnest(coalesce(spaces, '{}')) AS ns,
		 LATERAL (SELECT r.name::text AS name FROM repositories r
			  WHERE r.name > greatest(p_after COLLATE "C",
						   ns || '/')
			    AND r.name < ns || '0'
			  ORDER BY r.name LIMIT p_limit) x)
		UNION
		(SELECT r.name::text FROM repositories r
		 WHERE r.name = ANY(coalesce(repos, '{}')) AND r.name > p_after)
	) v ORDER BY v.name COLLATE "C" LIMIT p_limit;
END
$$;
