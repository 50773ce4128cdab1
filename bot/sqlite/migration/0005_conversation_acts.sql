-- Conversation acts and the confirm question: whether the bot's last word in
-- a conversation is an answer (a "thanks" or "that didn't help" refers to it),
-- whether it waits for a yes or no to "Did that answer your question?", and
-- the quick replies offered with a reply (JSON array, '' for none).
ALTER TABLE conversations ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN confirm_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replies ADD COLUMN options TEXT NOT NULL DEFAULT '';
