-- FAQ suggestions get a kind: "entry" (an agent's answer proposed as a new
-- entry, as before) or "example" (a phrasing proposed as one more example of
-- an existing entry, entry_id: from `supportbot faq augment`, or from an
-- agent answering an escalated question with that entry). Examples made by
-- the model belong to no conversation and no reply, so those columns become
-- optional; example_key (the phrasing folded: lower case, single spaces)
-- keeps one suggestion per phrasing and entry, whatever its status, so that
-- a rejected phrasing is not suggested again. SQLite cannot relax NOT NULL
-- in place: the table is rebuilt.
CREATE TABLE faq_suggestions_new (
	id               INTEGER PRIMARY KEY,
	kind             TEXT    NOT NULL DEFAULT 'entry' CHECK (kind IN ('entry', 'example')),
	conversation_key TEXT    REFERENCES conversations (key),
	reply_id         TEXT    UNIQUE,
	question         TEXT    NOT NULL,
	answer           TEXT    NOT NULL,
	agent_name       TEXT    NOT NULL DEFAULT '',
	suggested_by     TEXT    NOT NULL,
	status           TEXT    NOT NULL DEFAULT 'pending'
	                 CHECK (status IN ('pending', 'approved', 'rejected')),
	entry_id         TEXT    NOT NULL DEFAULT '',
	example_key      TEXT,
	created_at       INTEGER NOT NULL,
	decided_at       INTEGER,
	decided_by       TEXT    NOT NULL DEFAULT ''
);
INSERT INTO faq_suggestions_new (id, kind, conversation_key, reply_id, question, answer, agent_name,
		suggested_by, status, entry_id, created_at, decided_at, decided_by)
	SELECT id, 'entry', conversation_key, reply_id, question, answer, agent_name,
		suggested_by, status, entry_id, created_at, decided_at, decided_by
	FROM faq_suggestions;
DROP TABLE faq_suggestions;
ALTER TABLE faq_suggestions_new RENAME TO faq_suggestions;
CREATE INDEX faq_suggestions_status ON faq_suggestions (status, id);
CREATE UNIQUE INDEX faq_suggestions_example ON faq_suggestions (entry_id, example_key)
	WHERE kind = 'example';

-- Entries `supportbot faq augment` has asked the model about, by a hash of
-- what the request depended on (the entry's question and answer, the model,
-- the number of paraphrases, the prompt): a rerun skips them.
CREATE TABLE faq_augments (
	hash              TEXT    PRIMARY KEY,
	entry_id          TEXT    NOT NULL,
	model             TEXT    NOT NULL,
	suggested         INTEGER NOT NULL DEFAULT 0,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	created_at        INTEGER NOT NULL
);
