-- Triggers created at run time through the admin API. Secrets are kept here
-- because verifying an HMAC needs them; the API never returns them after
-- creation or rotation.
CREATE TABLE runtime_triggers (
	name            TEXT    PRIMARY KEY,
	kind            TEXT    NOT NULL,
	secret          TEXT    NOT NULL,
	previous_secret TEXT    NOT NULL DEFAULT '',
	previous_until  INTEGER NOT NULL DEFAULT 0,
	reply_kind      TEXT    NOT NULL,
	reply_url       TEXT    NOT NULL DEFAULT '',
	reply_secret    TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
