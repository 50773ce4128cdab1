-- FAQ suggestions: agents' answers proposed as knowledge-base entries
-- ("Save as FAQ" in Slack), at most one per relayed reply, decided once.
CREATE TABLE faq_suggestions (
	id               INTEGER PRIMARY KEY,
	conversation_key TEXT    NOT NULL REFERENCES conversations (key),
	reply_id         TEXT    NOT NULL UNIQUE,
	question         TEXT    NOT NULL,
	answer           TEXT    NOT NULL,
	agent_name       TEXT    NOT NULL DEFAULT '',
	suggested_by     TEXT    NOT NULL,
	status           TEXT    NOT NULL DEFAULT 'pending'
	                 CHECK (status IN ('pending', 'approved', 'rejected')),
	entry_id         TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	decided_at       INTEGER,
	decided_by       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX faq_suggestions_status ON faq_suggestions (status, id);
