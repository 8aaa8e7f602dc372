-- Berth's access model (authd): users and organizations sharing one
-- namespace, organization membership and teams, grants of a level on a
-- repository or a whole organization namespace, service accounts, tokens,
-- the audit log and login throttling. Levels: 1 read (pull), 2 write (pull,
-- push), 3 admin (pull, push, delete, visibility and permissions).

-- A name is a user's or an organization's, never both: <name>/... is theirs.
CREATE TABLE namespaces (
	name        text COLLATE "C" PRIMARY KEY,
	is_org      boolean NOT NULL
);

CREATE TABLE users (
	id            bigserial PRIMARY KEY,
	name          text COLLATE "C" NOT NULL UNIQUE
	              REFERENCES namespaces ON DELETE CASCADE,
	display_name  text NOT NULL DEFAULT '',
	email         text NOT NULL DEFAULT '',
	password_hash text,			-- argon2id; NULL: no local password
	source        text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap')),
	ldap_dn       text,
	is_admin      boolean NOT NULL DEFAULT false,
	disabled      boolean NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organizations (
	id          bigserial PRIMARY KEY,
	name        text COLLATE "C" NOT NULL UNIQUE
	            REFERENCES namespaces ON DELETE CASCADE,
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_members (
	org_id      bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
	user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	role        text NOT NULL CHECK (role IN ('owner', 'member')),
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

CREATE TABLE teams (
	id            bigserial PRIMARY KEY,
	org_id        bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
	name          text COLLATE "C" NOT NULL,
	description   text NOT NULL DEFAULT '',
	ldap_group_dn text,			-- membership synced from the directory
	UNIQUE (org_id, name)
);

CREATE TABLE team_members (
	team_id     bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
	user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE service_accounts (
	id          bigserial PRIMARY KEY,
	org_id      bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
	name        text COLLATE "C" NOT NULL,
	description text NOT NULL DEFAULT '',
	disabled    boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	UNIQUE (org_id, name)
);

-- A level on one repository, or (repository NULL) on every repository of
-- the namespace, granted to exactly one of a team, a user or a service
-- account. Names, not ids: a grant may precede the repository's first push.
CREATE TABLE grants (
	id          bigserial PRIMARY KEY,
	namespace   text COLLATE "C" NOT NULL REFERENCES namespaces ON DELETE CASCADE,
	repository  text COLLATE "C",
	team_id     bigint REFERENCES teams ON DELETE CASCADE,
	user_id     bigint REFERENCES users ON DELETE CASCADE,
	sa_id       bigint REFERENCES service_accounts ON DELETE CASCADE,
	level       smallint NOT NULL CHECK (level BETWEEN 1 AND 3),
	CHECK (num_nonnulls(team_id, user_id, sa_id) = 1),
	CHECK (repository IS NULL OR repository LIKE namespace || '/%')
);
CREATE UNIQUE INDEX grants_unique ON grants
	(namespace, coalesce(repository, ''), coalesce(team_id, 0),
	 coalesce(user_id, 0), coalesce(sa_id, 0));
CREATE INDEX grants_team ON grants (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX grants_user ON grants (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX grants_sa ON grants (sa_id) WHERE sa_id IS NOT NULL;

ALTER TABLE repositories ADD COLUMN public boolean NOT NULL DEFAULT false;

-- Personal access tokens, service account tokens and refresh tokens. The
-- secret is 32 random bytes, so a plain SHA-256 is a sound way to store it.
CREATE TABLE tokens (
	id           uuid PRIMARY KEY,
	kind         text NOT NULL CHECK (kind IN ('personal', 'service', 'refresh')),
	user_id      bigint REFERENCES users ON DELETE CASCADE,
	sa_id        bigint REFERENCES service_accounts ON DELETE CASCADE,
	name         text NOT NULL DEFAULT '',
	secret_hash  bytea NOT NULL,
	expires_at   timestamptz,
	revoked_at   timestamptz,
	last_used_at timestamptz,
	created_at   timestamptz NOT NULL DEFAULT now(),
	CHECK (num_nonnulls(user_id, sa_id) = 1)
);
CREATE INDEX tokens_user ON tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX tokens_sa ON tokens (sa_id) WHERE sa_id IS NOT NULL;

CREATE TABLE audit_log (
	id          bigserial PRIMARY KEY,
	at          timestamptz NOT NULL DEFAULT now(),
	actor       text NOT NULL,		-- user, org+service, or "anonymous"
	action      text NOT NULL,		-- login, token, user.create, ...
	target      text NOT NULL DEFAULT '',
	client      text NOT NULL DEFAULT '',
	success     boolean NOT NULL,
	detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Failed logins per key ("user:<name>" or "addr:<ip>"), shared by every
-- authd node so a lockout holds across the cluster.
CREATE TABLE login_failures (
	key          text PRIMARY KEY,
	failures     int NOT NULL,
	window_start timestamptz NOT NULL,
	locked_until timestamptz
);

-- The level a user (p_user) or service account (p_sa), or anonymous (both
-- NULL), holds on repository p_repo. Also used by registryd to filter the
-- catalog, so the rule lives in one place. PL/pgSQL, so each connection
-- plans its queries once: the token endpoint calls it per scope.
CREATE FUNCTION berth_repo_level(p_user bigint, p_sa bigint, p_repo text)
RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
	ns text := split_part(p_repo, '/', 1);
	lvl int := 0;
	u record;
BEGIN
	IF p_user IS NOT NULL THEN
		SELECT name, is_admin, disabled INTO u FROM users
		WHERE id = p_user;
		IF NOT FOUND OR u.disabled THEN
			p_user := NULL;		-- a disabled user is anonymous
		ELSIF u.is_admin OR u.name = ns THEN
			RETURN 3;		-- administrators, own namespace
		ELSIF EXISTS (SELECT 1 FROM org_members m
			      JOIN organizations o ON o.id = m.org_id
			      WHERE o.name = ns AND m.user_id = p_user
			        AND m.role = 'owner') THEN
			RETURN 3;		-- organization owners
		END IF;
	END IF;
	IF p_sa IS NOT NULL AND NOT EXISTS (SELECT 1 FROM service_accounts
					    WHERE id = p_sa AND NOT disabled) THEN
		p_sa := NULL;
	END IF;
	IF p_user IS NOT NULL OR p_sa IS NOT NULL THEN
		SELECT coalesce(max(g.level), 0) INTO lvl FROM grants g
		WHERE g.namespace = ns
		  AND (g.repository IS NULL OR g.repository = p_repo)
		  AND (g.user_id = p_user OR g.sa_id = p_sa
		       OR g.team_id IN (SELECT tm.team_id FROM team_members tm
		                        WHERE tm.user_id = p_user));
	END IF;
	IF lvl < 1 AND EXISTS (SELECT 1 FROM repositories
			       WHERE name = p_repo AND public) THEN
		lvl := 1;			-- public repositories
	END IF;
	RETURN lvl;
END
$$;

-- The level of a token's subject ("alice", "acme+ci", or "" for anonymous)
-- on p_repo: registryd filters the catalog and automatic mounts with it.
CREATE FUNCTION berth_subject_level(p_subject text, p_repo text)
RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
	uid bigint;
	sid bigint;
BEGIN
	IF position('+' in p_subject) > 0 THEN
		SELECT s.id INTO sid FROM service_accounts s
		JOIN organizations o ON o.id = s.org_id
		WHERE o.name = split_part(p_subject, '+', 1)
		  AND s.name = split_part(p_subject, '+', 2);
	ELSIF p_subject <> '' THEN
		SELECT id INTO uid FROM users WHERE name = p_subject;
	END IF;
	RETURN berth_repo_level(uid, sid, p_repo);
END
$$;

-- Records issued tokens and logins that led to them, committing without
-- waiting for the WAL flush: a token is no client data, and thousands a
-- second would otherwise each wait for the disk. A crash of authd loses
-- nothing; only a crash of PostgreSQL's host can lose the last moment's
-- rows. Everything else authd writes commits synchronously.
CREATE FUNCTION berth_audit_async(p_actor text, p_client text,
	p_action1 text, p_target1 text, p_detail1 text,
	p_action2 text, p_target2 text, p_detail2 text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	INSERT INTO audit_log (actor, action, target, client, success, detail)
	VALUES (p_actor, p_action1, p_target1, p_client, true,
		coalesce(p_detail1, '{}')::jsonb);
	IF p_action2 IS NOT NULL THEN
		INSERT INTO audit_log (actor, action, target, client, success,
				       detail)
		VALUES (p_actor, p_action2, p_target2, p_client, true,
			coalesce(p_detail2, '{}')::jsonb);
	END IF;
END
$$;

-- A token's last use, likewise without waiting for the disk.
CREATE FUNCTION berth_token_touch(p_id uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	UPDATE tokens SET last_used_at = now() WHERE id = p_id;
END
$$;
