-- Agent replies written outside Slack (dashboard, admin API, CLI) under an
-- Idempotency-Key: a repeated request finds its key here and gets the first
-- result back instead of a second reply. request_hash covers the
-- conversation, the agent and the text, so that a key reused for another
-- request is recognised and refused. The result is kept here, so that a
-- repeat is answered without reading the reply; retention deletes the rows
-- with their conversation.
CREATE TABLE agent_replies (
	idempotency_key  TEXT    PRIMARY KEY,
	request_hash     TEXT    NOT NULL,
	conversation_key TEXT    NOT NULL,
	reply_id         TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	claimed          INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL
);
