-- Tag immutability: rules that keep the tags they match from moving to
-- another manifest or being deleted, for one repository or for every
-- repository of a namespace. A pattern is a glob over tag names ("*" any
-- run, "?" one character); like_pattern is the same pattern for LIKE,
-- derived here once, so that registryd's checks and authd's reports match
-- with the one rule. Names, not ids: a rule may precede the first push.

-- The LIKE form of a glob: "_" is a tag character, so it is escaped
-- first, with LIKE's escape character (chr(92), a backslash).
CREATE FUNCTION berth_glob_like(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT replace(replace(replace(p, '_', chr(92) || '_'), '*', '%'),
		       '?', '_')
$$;

-- authd checks the same grammar (authd/tagglob.c) and answers why.
CREATE FUNCTION berth_glob_valid(p text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT p ~ '^[A-Za-z0-9_*?][A-Za-z0-9_.*?-]{0,127}$'
$$;

CREATE TABLE immutable_rules (
	id           bigserial PRIMARY KEY,
	namespace    text COLLATE "C" NOT NULL
	             REFERENCES namespaces ON DELETE CASCADE,
	repository   text COLLATE "C",	-- NULL: the whole namespace
	pattern      text COLLATE "C" NOT NULL
	             CHECK (berth_glob_valid(pattern)),
	like_pattern text COLLATE "C" NOT NULL
	             GENERATED ALWAYS AS (berth_glob_like(pattern)) STORED,
	created_by   text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL DEFAULT now(),
	CHECK (repository IS NULL OR
	       left(repository, length(namespace) + 1) = namespace || '/')
);
-- Every lookup starts from the namespace: a tag move's check (registryd's
-- tag_put), a delete's, retention's exclusion of immutable tags.
CREATE UNIQUE INDEX immutable_rules_scope ON immutable_rules
	(namespace, coalesce(repository, ''), pattern);
