-- The audit log beyond authd: registryd's records (pushes, tag moves,
-- deletes, optionally pulls) arrive in batches from each node's writer
-- thread, and the API filters by actor, action prefix and time.

-- GET /api/v1/audit?actor= pages newest first through one actor's records.
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- One batch of records as a JSON array of objects {at, actor, action,
-- target, client, success, detail}, inserted by one statement. Like
-- berth_audit_async, it commits without waiting for the WAL flush: a crash
-- of PostgreSQL's host may lose the last moment's records, never a push.
CREATE FUNCTION berth_audit_batch(p_records jsonb)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int;
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	INSERT INTO audit_log (at, actor, action, target, client, success,
			       detail)
	SELECT coalesce(r.at, now()), r.actor, r.action, coalesce(r.target, ''),
	       coalesce(r.client, ''), coalesce(r.success, true),
	       coalesce(r.detail, '{}')
	FROM jsonb_to_recordset(p_records) AS r(at timestamptz, actor text,
		action text, target text, client text, success boolean,
		detail jsonb);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
