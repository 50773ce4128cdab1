-- Conversation acts and the confirm question: whether the bot's last word in
-- a conversation is an answer (a "thanks" or "that didn't help" refers to it),
-- whether it waits for a yes or no to "Did that answer your question?", and
-- the quick replies offered with a reply (JSON array, '' for none).
ALTER TABLE conversations ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN confirm_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replies ADD COLUMN options TEXT NOT NULL DEFAULT '';

-- Customer satisfaction: one 1-5 rating of a resolved conversation, with an
-- optional comment; rating again replaces it.
CREATE TABLE ratings (
	conversation_key TEXT    PRIMARY KEY REFERENCES conversations (key) ON DELETE CASCADE,
	score            INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
	comment          TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL
) WITHOUT ROWID;
