-- Authentication hardening (issue 9): failed logins throttle one account
-- from one address, and one address's password logins, with growing
-- delays instead of locking accounts; a full lock is an administrator's
-- decision, kept on the user's row; a refresh token dies with the access
-- token it was issued to.

-- login_failures keys are now "pair:<address> <account>" and
-- "addr:<address>"; locked_until is the end of the current delay, and a
-- key is forgotten lockout_window seconds after its last failure and its
-- delay. The accounts that the old rule locked ("user:<name>") go free.
ALTER TABLE login_failures ADD COLUMN last_failure timestamptz;
UPDATE login_failures SET last_failure = window_start;
DELETE FROM login_failures WHERE key LIKE 'user:%';

-- An administrator's lock: no login of the user (password, access or
-- refresh token) succeeds while locked_until is in the future; 'infinity'
-- until unlocked.
ALTER TABLE users
	ADD COLUMN locked_until timestamptz,
	ADD COLUMN lock_reason text NOT NULL DEFAULT '';

-- The access token a refresh token was issued to (NULL: a password
-- login): revoking or expiring it ends the refresh token as well.
ALTER TABLE tokens
	ADD COLUMN parent_id uuid REFERENCES tokens ON DELETE CASCADE;
CREATE INDEX tokens_parent ON tokens (parent_id) WHERE parent_id IS NOT NULL;

-- One failed login of key p_key: counts it (starting over once the key has
-- been quiet for p_window seconds after its last failure and delay), and
-- from p_threshold failures on refuses the key for p_delay * 2^(failures -
-- p_threshold) seconds, at most p_cap. Returns the count and the delay
-- started (0: none).
CREATE FUNCTION berth_login_failed(p_key text, p_threshold int,
	p_window double precision, p_delay double precision,
	p_cap double precision, OUT failures int, OUT delay int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	quiet timestamptz := now() - make_interval(secs => p_window);
BEGIN
	INSERT INTO login_failures AS l (key, failures, window_start,
					 last_failure)
	VALUES (p_key, 1, now(), now())
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN greatest(l.last_failure, l.locked_until,
			l.window_start) < quiet THEN 1 ELSE l.failures + 1 END,
		window_start = CASE WHEN greatest(l.last_failure,
			l.locked_until, l.window_start) < quiet
			THEN now() ELSE l.window_start END,
		locked_until = CASE WHEN greatest(l.last_failure,
			l.locked_until, l.window_start) < quiet
			THEN NULL ELSE l.locked_until END,
		last_failure = now()
	RETURNING l.failures INTO failures;
	delay := 0;
	IF failures >= p_threshold THEN
		delay := ceil(least(p_cap, p_delay *
			power(2, least(failures - p_threshold, 40))))::int;
		UPDATE login_failures SET locked_until = now() +
			make_interval(secs => delay) WHERE key = p_key;
	END IF;
END
$$;
