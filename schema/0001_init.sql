-- Berth registry metadata: repositories, blobs and their per-repository
-- links, manifests with their references, tags, upload sessions, and the
-- queue of blobs whose last reference went away (for online GC).
-- Names and digests use the C collation so that ORDER BY is byte order,
-- which is the lexical order the distribution spec asks for.

CREATE TABLE repositories (
	id          bigserial PRIMARY KEY,
	name        text COLLATE "C" NOT NULL UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per stored blob; the bytes live in storage under the digest.
CREATE TABLE blobs (
	digest      text COLLATE "C" PRIMARY KEY,
	size        bigint NOT NULL CHECK (size >= 0),
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- A blob is readable through a repository only when linked to it.
CREATE TABLE repository_blobs (
	repository_id bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
	digest        text COLLATE "C" NOT NULL REFERENCES blobs,
	created_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

CREATE TABLE manifests (
	repository_id bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
	digest        text COLLATE "C" NOT NULL,
	media_type    text NOT NULL,
	artifact_type text,
	subject       text COLLATE "C",
	annotations   text,		-- compact JSON object, for referrers
	size          bigint NOT NULL,
	content       bytea NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests (repository_id, subject)
	WHERE subject IS NOT NULL;

-- What a manifest points at: blobs (config, layers) or child manifests.
CREATE TABLE manifest_references (
	repository_id   bigint NOT NULL,
	manifest_digest text COLLATE "C" NOT NULL,
	target_digest   text COLLATE "C" NOT NULL,
	is_manifest     boolean NOT NULL,
	PRIMARY KEY (repository_id, manifest_digest, target_digest),
	FOREIGN KEY (repository_id, manifest_digest)
		REFERENCES manifests ON DELETE CASCADE
);
CREATE INDEX manifest_references_target
	ON manifest_references (repository_id, target_digest);

CREATE TABLE tags (
	repository_id bigint NOT NULL,
	name          text COLLATE "C" NOT NULL,
	digest        text COLLATE "C" NOT NULL,
	updated_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (repository_id, name),
	FOREIGN KEY (repository_id, digest)
		REFERENCES manifests ON DELETE CASCADE
);

-- An upload in progress. The bytes are in storage under uploads/<id>; size
-- and hash_state always describe a durable prefix of that file. A PATCH
-- holds a lock on the file, so two nodes never append to one session at
-- once, and a crashed node's lock goes with it.
CREATE TABLE uploads (
	id            uuid PRIMARY KEY,
	repository_id bigint NOT NULL REFERENCES repositories ON DELETE CASCADE,
	size          bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
	hash_state    bytea,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_updated ON uploads (updated_at);

-- Blobs that lost a reference; a GC worker reviews them later
-- (SELECT ... FOR UPDATE SKIP LOCKED) and deletes the unreferenced ones.
CREATE TABLE gc_blob_reviews (
	digest       text COLLATE "C" PRIMARY KEY,
	review_after timestamptz NOT NULL DEFAULT now()
);
