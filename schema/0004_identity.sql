-- The identity lifecycle: access tokens limited to pulls or to some
-- repositories, and tokens that a disable ends for good unless the
-- re-enable asks to revive them.

-- A token's limits. repositories NULL: every repository its owner reaches;
-- otherwise names ("acme/app") and prefixes ("acme/*": everything under
-- "acme/"). A refresh token inherits the limits of the token it came from.
ALTER TABLE tokens
	ADD COLUMN read_only boolean NOT NULL DEFAULT false,
	ADD COLUMN repositories text[] COLLATE "C";

-- disabled_at: when the current disable began (NULL while enabled).
-- tokens_valid_after: tokens created at or before it are dead; a re-enable
-- moves it to disabled_at unless asked to revive the tokens.
ALTER TABLE users
	ADD COLUMN disabled_at timestamptz,
	ADD COLUMN tokens_valid_after timestamptz;

UPDATE users SET disabled_at = now() WHERE disabled;

-- Every path that disables a user (the API, the directory sync) stamps
-- the time here, so the re-enable can tell old tokens from new ones.
CREATE FUNCTION berth_user_disabled_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.disabled AND NOT OLD.disabled THEN
		NEW.disabled_at := now();
	ELSIF NOT NEW.disabled THEN
		NEW.disabled_at := NULL;
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER users_disabled_at BEFORE UPDATE OF disabled ON users
	FOR EACH ROW EXECUTE FUNCTION berth_user_disabled_at();

-- Whether repository p_repo is within a token's list (NULL: everything).
CREATE FUNCTION berth_token_covers(p_list text[], p_repo text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT p_list IS NULL OR EXISTS (
		SELECT 1 FROM unnest(p_list) AS x
		WHERE x = p_repo
		   OR (right(x, 2) = '/*' AND length(p_repo) > length(x) - 1
		       AND left(p_repo, length(x) - 1) = left(x, length(x) - 1)))
$$;

-- The level that token p_token carries on p_repo: its owner's level
-- (berth_repo_level), nothing outside its list, at most read when it is
-- read-only. The token service asks this for tokens that have limits.
CREATE FUNCTION berth_token_level(p_token uuid, p_user bigint, p_sa bigint,
	p_repo text)
RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
	t record;
	lvl int;
BEGIN
	SELECT read_only, repositories INTO t FROM tokens WHERE id = p_token;
	IF NOT FOUND OR NOT berth_token_covers(t.repositories, p_repo) THEN
		RETURN 0;
	END IF;
	lvl := berth_repo_level(p_user, p_sa, p_repo);
	IF t.read_only THEN
		lvl := least(lvl, 1);
	END IF;
	RETURN lvl;
END
$$;
